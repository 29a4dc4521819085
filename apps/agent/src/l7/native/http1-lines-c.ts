/**
 * The C source of the HTTP/1 header block scanner (see ./http1-lines.ts), kept as text in a
 * module so that it travels with any bundle of the parser (worker threads run an esbuild bundle,
 * where a .c file next to the module would not be found); ./http1-lines.ts writes it into the
 * private build directory and compiles it there. String.raw: the backslashes are C's.
 */
/**
 * The scanner proper (limits, own-header matching, scan_block), shared with the native row path
 * (./http1-rows.ts), which compiles it into its own addon: one definition of the header scan.
 * Needs <stdint.h> and <string.h> before it.
 */
export const HTTP1_SCAN_C = String.raw`
#define MAX_HEADER (32 * 1024)
#define MAX_HEADERS 128
#define TARGET_END 10
#define QUERY 11
#define LINES 12
#define OUT_LEN (LINES + 2 * MAX_HEADERS)

/* Compares the header name at o with a lower-case one, folding A-Z only (as the JS does). */
static int name_is(const uint8_t *b, int32_t o, const char *lc, int32_t n) {
  for (int32_t i = 0; i < n; i++) {
    uint8_t c = b[o + i];
    if (c >= 'A' && c <= 'Z') c |= 32;
    if (c != (uint8_t)lc[i]) return 0;
  }
  return 1;
}

/* Which of the parser's own headers the line [p, eol) is (0-3), or -1; *colon set when one. */
static int own(const uint8_t *b, int32_t p, int32_t eol, int32_t *colon) {
  uint8_t c0 = b[p];
  if (c0 == 'h' || c0 == 'H') {
    if (p + 4 < eol && b[p + 4] == ':' && b[p + 1] != ':' && b[p + 2] != ':' && b[p + 3] != ':') {
      *colon = p + 4;
      return 0;
    }
  } else if (c0 == 'c' || c0 == 'C') {
    if (p + 14 < eol && b[p + 14] == ':' && name_is(b, p, "content-length", 14)) {
      *colon = p + 14;
      return 1;
    }
    if (p + 10 < eol && b[p + 10] == ':' && name_is(b, p, "connection", 10)) {
      *colon = p + 10;
      return 3;
    }
  } else if (c0 == 't' || c0 == 'T') {
    if (p + 17 < eol && b[p + 17] == ':' && name_is(b, p, "transfer-encoding", 17)) {
      *colon = p + 17;
      return 2;
    }
  }
  return -1;
}

#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* The first c in [p, e), or -1. Inline, 16 bytes a step where SSE2 is, then 8: header lines
   are 20-40 bytes, too short for a libc memchr call to pay for itself. In the 8-byte step a
   zero byte of x = word ^ c...c sets the top bit of its byte in z, and only bytes above a zero
   byte can be set wrongly (the borrow), so the lowest set bit is the first c (little-endian;
   others take memchr). */
static inline int32_t find_byte(const uint8_t *b, int32_t p, int32_t e, uint8_t c) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#ifdef __SSE2__
  const __m128i cv = _mm_set1_epi8((char)c);
  for (; e - p >= 16; p += 16) {
    int m = _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(b + p)), cv));
    if (m != 0) return p + __builtin_ctz((unsigned)m);
  }
#endif
  const uint64_t ones = 0x0101010101010101ULL, cc = ones * c;
  for (; e - p >= 8; p += 8) {
    uint64_t x;
    memcpy(&x, b + p, 8);
    x ^= cc;
    uint64_t z = (x - ones) & ~x & (ones << 7);
    if (z != 0) return p + (int32_t)(__builtin_ctzll(z) >> 3);
  }
  for (; p < e; p++)
    if (b[p] == c) return p;
  return -1;
#else
  const uint8_t *r = p < e ? memchr(b + p, c, (size_t)(e - p)) : NULL;
  return r == NULL ? -1 : (int32_t)(r - b);
#endif
}

static int32_t scan_block(const uint8_t *b, int32_t off, int32_t e, int32_t *out) {
  /* The request/status line: the first CR followed by LF, both before e. */
  int32_t line = -1;
  for (int32_t p = off; p < e - 1;) {
    int32_t i = find_byte(b, p, e - 1, '\r');
    if (i < 0) break;
    if (b[i + 1] == '\n') {
      line = i;
      break;
    }
    p = i + 1;
  }
  if (line < 0) return -3;
  out[0] = line;
  int32_t target_end = line, query = -1;
  int32_t sp = find_byte(b, off, line, ' ');
  if (sp >= 0) {
    int32_t t = sp + 1;
    int32_t sp2 = find_byte(b, t, line, ' ');
    if (sp2 >= 0) target_end = sp2;
    query = find_byte(b, t, target_end, '?');
  }
  out[TARGET_END] = target_end;
  out[QUERY] = query;
  for (int j = 2; j < TARGET_END; j++) out[j] = -1;
  int32_t s = line + 2, p = s, count = 0, n = 0;
  for (;;) {
    int32_t i = find_byte(b, p, e, '\n');
    if (i < 0) return e - s > MAX_HEADER ? -2 : -1;
    int32_t eol = i > p && b[i - 1] == '\r' ? i - 1 : i;
    if (eol == p) {
      out[1] = i + 1;
      return n;
    }
    if (count == MAX_HEADERS) return -2;
    count++;
    int32_t colon;
    int k = own(b, p, eol, &colon);
    if (k >= 0) {
      int32_t vs = colon + 1;
      while (vs < eol && (b[vs] == ' ' || b[vs] == '\t')) vs++;
      out[2 + 2 * k] = vs;
      out[3 + 2 * k] = eol;
    } else {
      out[LINES + 2 * n] = p;
      out[LINES + 1 + 2 * n] = eol;
      n++;
    }
    p = i + 1;
  }
}

`;

export const HTTP1_LINES_C = `/*
 * HTTP/1 header block line finder for ../protocols/http1.ts, compiled lazily by ./http1-lines.ts
 * (plain N-API). One call per message instead of one Buffer#indexOf call per header line; the
 * header names and the trace/header policy stay in JS, which walks the positions written here.
 *
 *   buffer() -> Int32Array: this thread's output array (OUT_LEN int32s), written by every scan()
 *     of the same thread; created once, its address kept per N-API environment (worker threads
 *     each have their own).
 *   scan(b, off, end) -> n | -1 | -2 | -3, b a Uint8Array, [off, end) the bytes to look at:
 *     -3  no CR LF in [off, end) (the request/status line is not complete);
 *     then out[0] = the index of that first CR LF's CR (the line end); out[10] = where the
 *     request target ends (the first space after the line's first space, or the line end), out[11]
 *     = the first '?' in the target or -1 (both taken as if the line's first space ends the
 *     method; only requests use them); and from out[0] + 2:
 *     -1  no blank line yet and the block is at most MAX_HEADER bytes (wait for more);
 *     -2  more than MAX_HEADERS lines, or no blank line in more than MAX_HEADER bytes;
 *     n   out[1] = the index after the blank line; out[2 + 2j], out[3 + 2j] = start and end of
 *         the value (after the colon and spaces or tabs, up to the line end) of the last line
 *         whose name is Host (j = 0: any 4-byte name starting with h or H), Content-Length (1),
 *         Transfer-Encoding (2), Connection (3), either case, -1 when there is none; and the
 *         n other lines: out[LINES + 2k], out[LINES + 1 + 2k] = start and end (before CR LF or
 *         a bare LF) of line k.
 *   scanHeaderBlockJs in ./http1-lines.ts is the specification: the same results.
 */
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

${HTTP1_SCAN_C}
typedef struct {
  int32_t *out;
  napi_ref ref;
} state_t;

static napi_value buffer(napi_env env, napi_callback_info info) {
  state_t *st;
  napi_get_cb_info(env, info, NULL, NULL, NULL, (void **)&st);
  napi_value ab, arr;
  if (st->out == NULL) {
    void *data;
    if (napi_create_arraybuffer(env, OUT_LEN * sizeof(int32_t), &data, &ab) != napi_ok) return NULL;
    /* Held for the life of the environment: its backing store never moves, so scan() writes
       through the address without looking the array up on every call. */
    if (napi_create_reference(env, ab, 1, &st->ref) != napi_ok) return NULL;
    st->out = data;
  } else if (napi_get_reference_value(env, st->ref, &ab) != napi_ok) {
    return NULL;
  }
  if (napi_create_typedarray(env, napi_int32_array, OUT_LEN, ab, 0, &arr) != napi_ok) return NULL;
  return arr;
}

static napi_value scan(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value a[3];
  state_t *st;
  napi_get_cb_info(env, info, &argc, a, NULL, (void **)&st);
  int32_t off = 0, end = 0, r = -3;
  napi_typedarray_type type;
  size_t len = 0, byteOffset;
  void *data = NULL;
  napi_value ab, result;
  if (argc < 3 || st->out == NULL ||
      napi_get_typedarray_info(env, a[0], &type, &len, &data, &ab, &byteOffset) != napi_ok ||
      type != napi_uint8_array || napi_get_value_int32(env, a[1], &off) != napi_ok ||
      napi_get_value_int32(env, a[2], &end) != napi_ok || off < 0 || end < off ||
      (size_t)end > len || len > 0x7fffffff) {
    napi_throw_error(env, NULL, "http1-lines: bad arguments");
    return NULL;
  }
  r = scan_block(data, off, end, st->out);
  napi_create_int32(env, r, &result);
  return result;
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

static napi_value init(napi_env env, napi_value exports) {
  state_t *st = calloc(1, sizeof(state_t));
  if (st == NULL) return NULL;
  napi_set_instance_data(env, st, finalize, NULL);
  napi_value fn;
  napi_create_function(env, "buffer", NAPI_AUTO_LENGTH, buffer, st, &fn);
  napi_set_named_property(env, exports, "buffer", fn);
  napi_create_function(env, "scan", NAPI_AUTO_LENGTH, scan, st, &fn);
  napi_set_named_property(env, exports, "scan", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
`;
