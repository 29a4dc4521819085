/**
 * C shared by the native HTTP/1 row path (./http1-rows.ts concatenates ROWS_COMMON_C,
 * APP_METRICS_C and HTTP1_ROWS_C into one translation unit): a growable byte buffer and the
 * writers that make its bytes exactly what JSON.stringify makes of the same JS values, so rows
 * formatted here are byte-identical to the JS JsonlWriter's.
 */
export const ROWS_COMMON_C = String.raw`
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* Output bytes; on allocation failure 'failed' is set and later writes are dropped (the
   caller reports it), never a crash. */
typedef struct {
  uint8_t *p;
  size_t len;
  size_t cap;
  int failed;
} fp_buf_t;

static int fp_reserve(fp_buf_t *b, size_t n) {
  if (b->failed) return 0;
  if (b->len + n <= b->cap) return 1;
  size_t cap = b->cap ? b->cap : 65536;
  while (cap < b->len + n) cap *= 2;
  uint8_t *p = realloc(b->p, cap);
  if (p == NULL) {
    b->failed = 1;
    return 0;
  }
  b->p = p;
  b->cap = cap;
  return 1;
}

/* Whether none of the 8 bytes of w needs more than a copy: each is 0x20-0x7F and neither '"'
   nor '\'. A byte below 0x20 (or a zero byte of w ^ '"'...) sets its top bit in (x - n...) & ~x;
   the lowest such byte always does (no borrow reaches it), so none is missed; a false alarm
   only sends the bytes through the byte loop. */
static inline int fp_plain8(uint64_t w) {
  const uint64_t ones = 0x0101010101010101ULL;
  uint64_t q = w ^ (ones * '"'), bs = w ^ (ones * '\\');
  return (((w - ones * 0x20) & ~w) | ((q - ones) & ~q) | ((bs - ones) & ~bs) | w) & (ones << 7) ? 0 : 1;
}

/* The escape JSON.stringify writes for a control character, '"' or '\' (at most 6 bytes). */
static uint8_t *fp_w_esc(uint8_t *o, uint8_t c) {
  *o++ = '\\';
  switch (c) {
    case '"': *o++ = '"'; break;
    case '\\': *o++ = '\\'; break;
    case '\b': *o++ = 'b'; break;
    case '\f': *o++ = 'f'; break;
    case '\n': *o++ = 'n'; break;
    case '\r': *o++ = 'r'; break;
    case '\t': *o++ = 't'; break;
    default: {
      static const char hex[] = "0123456789abcdef";
      *o++ = 'u';
      *o++ = '0';
      *o++ = '0';
      *o++ = (uint8_t)hex[c >> 4];
      *o++ = (uint8_t)hex[c & 15];
    }
  }
  return o;
}

/* Unchecked writers for callers that reserved room first (a row at a time): they return the
   new end. JSON.stringify of the JS string whose code units are these bytes (a latin1 string):
   quotes, the two-character escapes, \u00XX for other controls, DEL as is, 0x80-0xFF as UTF-8;
   at most 6 bytes a byte plus 2. */
static uint8_t *fp_w_jstr(uint8_t *o, const uint8_t *s, size_t n) {
  *o++ = '"';
  /* A short plain string (a version, a short host) by two overlapping loads, checked as
     one word (short ones padded with spaces, which are plain): no loop, no libc call. */
  if (n < 8) {
    if (n >= 4) {
      uint32_t a, b;
      memcpy(&a, s, 4);
      memcpy(&b, s + n - 4, 4);
      if (fp_plain8(a | (uint64_t)b << 32)) {
        memcpy(o, &a, 4);
        memcpy(o + n - 4, &b, 4);
        o += n;
        *o++ = '"';
        return o;
      }
    } else if (n >= 2) {
      uint16_t a, b;
      memcpy(&a, s, 2);
      memcpy(&b, s + n - 2, 2);
      if (fp_plain8(a | (uint64_t)b << 16 | 0x2020202000000000ULL)) {
        memcpy(o, &a, 2);
        memcpy(o + n - 2, &b, 2);
        o += n;
        *o++ = '"';
        return o;
      }
    }
  }
  size_t i = 0;
  while (i < n) {
    /* Runs of plain bytes 8 at a time (the writer's room is 6 bytes a byte, so whole words fit);
       the last few bytes by a word ending at n when the string has 8. */
    uint64_t w;
#ifdef __SSE2__
    /* 16 bytes a step where SSE2 is: a byte below 0x20 or above 0x7F is below 0x20 as a signed
       byte, so one comparison and two equalities find every byte that is not plain. */
    while (i + 16 <= n) {
      __m128i v = _mm_loadu_si128((const __m128i *)(s + i));
      __m128i bad = _mm_or_si128(_mm_cmplt_epi8(v, _mm_set1_epi8(0x20)),
                                 _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                                              _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));
      if (_mm_movemask_epi8(bad) != 0) break;
      _mm_storeu_si128((__m128i *)o, v);
      o += 16;
      i += 16;
    }
#endif
    while (i + 8 <= n) {
      memcpy(&w, s + i, 8);
      if (!fp_plain8(w)) break;
      memcpy(o, &w, 8);
      o += 8;
      i += 8;
    }
    if (i + 8 > n && i < n && n >= 8) {
      memcpy(&w, s + n - 8, 8);
      if (fp_plain8(w)) {
        /* The word ends where the string ends: its bytes before i are plain, so each was
           written as itself just before o, and the word goes over them unchanged. */
        memcpy(o + (n - i) - 8, &w, 8);
        o += n - i;
        break;
      }
    }
    if (i == n) break;
    uint8_t c = s[i++];
    if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) *o++ = c;
    else if (c >= 0x80) {
      *o++ = (uint8_t)(0xC0 | (c >> 6));
      *o++ = (uint8_t)(0x80 | (c & 0x3F));
    } else o = fp_w_esc(o, c);
  }
  *o++ = '"';
  return o;
}

/* JSON.stringify of a JS string held as WTF-8 (UTF-8 that may hold a lone surrogate as its
   3-byte form ED A0-BF xx, which valid UTF-8 never has: a string cut in the middle of a
   surrogate pair ends with one): quotes, backslashes and controls escaped, a lone surrogate as
   its \\udxxx escape, other bytes as they are; at most 6 bytes a byte plus 2. Plain UTF-8 (flow
   ids and IP texts as N-API gives them, lone surrogates already replaced) is the same string. */
static uint8_t *fp_w_jstr_wtf8(uint8_t *o, const uint8_t *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  *o++ = '"';
  for (size_t i = 0; i < n; i++) {
    uint8_t c = s[i];
    if (c == 0xED && i + 2 < n && s[i + 1] >= 0xA0) {
      unsigned u = 0xD000u | ((unsigned)(s[i + 1] & 0x3F) << 6) | (unsigned)(s[i + 2] & 0x3F);
      *o++ = '\\';
      *o++ = 'u';
      *o++ = (uint8_t)hex[(u >> 12) & 15];
      *o++ = (uint8_t)hex[(u >> 8) & 15];
      *o++ = (uint8_t)hex[(u >> 4) & 15];
      *o++ = (uint8_t)hex[u & 15];
      i += 2;
    } else if (c >= 0x20 && c != '"' && c != '\\') *o++ = c;
    else o = fp_w_esc(o, c);
  }
  *o++ = '"';
  return o;
}

static const char fp_pairs[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

static const uint32_t fp_pow10[10] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000};

/* Decimal of a 32-bit integer, two digits at a time, written from its last digit back: the
   length comes first (from the highest set bit, corrected by one comparison), so no digits go
   through a scratch buffer and a variable-length memcpy (a libc call, ~half of this writer's
   cost on the row thread). */
static inline uint8_t *fp_w_u32(uint8_t *o, uint32_t v) {
  if (v < 10) {
    *o = (uint8_t)('0' + v);
    return o + 1;
  }
  uint32_t t = (uint32_t)(32 - __builtin_clz(v)) * 1233 >> 12;
  uint8_t *e = o + t + (v >= fp_pow10[t]), *p = e;
  while (v >= 100) {
    uint32_t q = v / 100;
    p -= 2;
    memcpy(p, fp_pairs + 2 * (v - q * 100), 2);
    v = q;
  }
  if (v >= 10) memcpy(p - 2, fp_pairs + 2 * v, 2);
  else p[-1] = (uint8_t)('0' + v);
  return e;
}

/* Exactly 8 digits of v < 10^8, leading zeros included: four pairs that do not wait on each
   other (a row's timestamps are 16 digits; one digit pair after another was a chain of 8
   dependent divisions). */
static inline uint8_t *fp_w_8digits(uint8_t *o, uint32_t v) {
  uint32_t a = v / 10000, b = v - a * 10000;
  uint32_t a1 = a / 100, b1 = b / 100;
  memcpy(o, fp_pairs + 2 * a1, 2);
  memcpy(o + 2, fp_pairs + 2 * (a - a1 * 100), 2);
  memcpy(o + 4, fp_pairs + 2 * b1, 2);
  memcpy(o + 6, fp_pairs + 2 * (b - b1 * 100), 2);
  return o + 8;
}

/* Decimal of a non-negative integer (at most 20 bytes). */
static inline uint8_t *fp_w_u64(uint8_t *o, uint64_t v) {
  if (v < 100000000) return fp_w_u32(o, (uint32_t)v);
  uint64_t hi = v / 100000000;
  uint32_t lo = (uint32_t)(v - hi * 100000000);
  if (hi < 10000000) o = fp_w_u32(o, (uint32_t)hi);
  else if (hi < 100000000) o = fp_w_8digits(o, (uint32_t)hi); /* a row's times: microseconds since 1970, 16 digits */
  else {
    uint64_t top = hi / 100000000; /* at most 1844 */
    o = fp_w_u32(o, (uint32_t)top);
    o = fp_w_8digits(o, (uint32_t)(hi - top * 100000000));
  }
  return fp_w_8digits(o, lo);
}

static inline uint8_t *fp_w_i64(uint8_t *o, int64_t v) {
  if (v < 0) {
    *o++ = '-';
    return fp_w_u64(o, (uint64_t)0 - (uint64_t)v);
  }
  return fp_w_u64(o, (uint64_t)v);
}

#define FP_W_LIT(o, s) (memcpy((o), (s), sizeof(s) - 1), (o) += sizeof(s) - 1)
`;
