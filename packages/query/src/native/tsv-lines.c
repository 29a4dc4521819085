/*
 * The compact ingest encoding's line writer (../record-tsv.ts) in C: the same per-column fast
 * checks as the plan's inlined JS, over a run of rows. Compiled lazily by ../tsv-native.ts; plain
 * N-API. It only ever writes rows whose every field passes its fast check: at the first row that
 * needs anything else (a field for the column's slow path, a malformed line, too little room in
 * `out`) it stops and hands that row back to JS, which writes or rejects it with its own messages
 * and calls again from the next row. So the rejections are JS's by construction.
 *
 *   encode(src, pos, width, from, to, out, o, program, maxes, org, agent, ov, res) -> row reached
 *     src, out, org, agent: Buffers; pos: Int32Array (TsvRows' field positions, `width` a line);
 *     program: Int32Array, 4 per column in DDL order (op, field, optional, override index or -1);
 *     maxes: Float64Array, the column's upper bound for the digit checks; ov: Array of
 *     Uint32Array | undefined (the overrides); res: Float64Array, res[0] = `o` after the last
 *     row written. Returns the row it stopped at (`to` when all were written).
 *   split(...): see below.
 */
#include <node_api.h>
#include <stdint.h>
#include <string.h>

enum {
  OP_ORG = 1,
  OP_AGENT = 2,
  OP_SLOW = 3,
  OP_UINT = 4,
  OP_NULLUINT = 5,
  OP_U64ID = 6,
  OP_UUID = 7,
  OP_TIME = 8,
  OP_IPV4 = 9,
  OP_IPNONE = 10,
  OP_TOKEN = 11,
  OP_BOOL = 12,
};

#define MAX_OV 16

/* Decimal digits, no sign, no leading zero, 1-16 of them, at most max. */
static uint8_t *w_uint(const uint8_t *s, const uint8_t *e, uint8_t *o, uint64_t max) {
  size_t n = (size_t)(e - s);
  if (n == 0 || n > 16 || (n > 1 && s[0] == '0')) return NULL;
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned d = (unsigned)s[i] - '0';
    if (d > 9) return NULL;
    v = v * 10 + d;
    o[i] = s[i];
  }
  return v <= max ? o + n : NULL;
}

static int hexdigit(uint8_t c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Howard Hinnant's days -> civil date (proleptic Gregorian), days since 1970-01-01 >= 0. */
static void civil(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
  z += 719468;
  int64_t era = z / 146097;
  unsigned doe = (unsigned)(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t yy = (int64_t)yoe + era * 400;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = yy + (*m <= 2);
}

static void two(uint8_t *o, unsigned v) {
  o[0] = (uint8_t)('0' + v / 10);
  o[1] = (uint8_t)('0' + v % 10);
}

/* Microseconds -> "YYYY-MM-DD hh:mm:ss.ffffff", as timeWriter (7-16 digits, no leading zero). */
static uint8_t *w_time(const uint8_t *s, const uint8_t *e, uint8_t *o) {
  size_t n = (size_t)(e - s);
  if (n <= 6 || n > 16 || s[0] == '0') return NULL;
  uint64_t sec = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned d = (unsigned)s[i] - '0';
    if (d > 9) return NULL;
    if (i < n - 6) sec = sec * 10 + d;
  }
  if (sec >= 9007199254ULL) return NULL;
  int64_t days = (int64_t)(sec / 86400);
  unsigned rem = (unsigned)(sec % 86400);
  int64_t y;
  unsigned m, d;
  civil(days, &y, &m, &d);
  if (y > 9999) return NULL;
  two(o, (unsigned)(y / 100));
  two(o + 2, (unsigned)(y % 100));
  o[4] = '-';
  two(o + 5, m);
  o[7] = '-';
  two(o + 8, d);
  o[10] = ' ';
  two(o + 11, rem / 3600);
  o[13] = ':';
  two(o + 14, rem / 60 % 60);
  o[16] = ':';
  two(o + 17, rem % 60);
  o[19] = '.';
  memcpy(o + 20, e - 6, 6);
  return o + 26;
}

/* Dotted IPv4: four parts 0-255 of 1-3 digits, no leading zero; 7-15 bytes. */
static uint8_t *w_ipv4(const uint8_t *s, const uint8_t *e, uint8_t *o) {
  size_t n = (size_t)(e - s);
  if (n < 7 || n > 15) return NULL;
  unsigned dots = 0, digits = 0, v = 0;
  for (size_t i = 0; i < n; i++) {
    uint8_t c = s[i];
    if (c == '.') {
      if (digits == 0 || dots == 3) return NULL;
      dots++;
      digits = 0;
      v = 0;
    } else if (c >= '0' && c <= '9') {
      if (digits > 0 && v == 0) return NULL;
      v = v * 10 + (c - '0');
      if (v > 255) return NULL;
      digits++;
    } else
      return NULL;
  }
  if (dots != 3 || digits == 0) return NULL;
  memcpy(o, s, n);
  return o + n;
}

static uint8_t *w_token(const uint8_t *s, const uint8_t *e, uint8_t *o) {
  size_t n = (size_t)(e - s);
  if (n > 32) return NULL;
  for (size_t i = 0; i < n; i++) {
    uint8_t c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
      return NULL;
  }
  memcpy(o, s, n);
  return o + n;
}

static uint8_t *w_field(int op, const uint8_t *s, const uint8_t *e, uint8_t *o, double maxd) {
  size_t n = (size_t)(e - s);
  switch (op) {
    case OP_UINT:
      return w_uint(s, e, o, (uint64_t)maxd);
    case OP_NULLUINT:
      if (n == 2 && s[0] == '\\' && s[1] == 'N') {
        o[0] = '\\';
        o[1] = 'N';
        return o + 2;
      }
      return w_uint(s, e, o, (uint64_t)maxd);
    case OP_U64ID:
      if (n == 0 || n > 19) return NULL;
      for (size_t i = 0; i < n; i++)
        if ((unsigned)s[i] - '0' > 9) return NULL;
      memcpy(o, s, n);
      return o + n;
    case OP_UUID:
      if (n != 36) return NULL;
      for (size_t i = 0; i < 36; i++) {
        uint8_t c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
          if (c != '-') return NULL;
        } else if (!hexdigit(c))
          return NULL;
        o[i] = (c >= 'A' && c <= 'F') ? (uint8_t)(c + 32) : c;
      }
      return o + 36;
    case OP_TIME:
      return w_time(s, e, o);
    case OP_IPNONE:
      if (n == 0) {
        o[0] = ':';
        o[1] = ':';
        return o + 2;
      }
      return w_ipv4(s, e, o);
    case OP_IPV4:
      return w_ipv4(s, e, o);
    case OP_TOKEN:
      return w_token(s, e, o);
    case OP_BOOL:
      if (n == 4 && memcmp(s, "true", 4) == 0) {
        memcpy(o, "true", 4);
        return o + 4;
      }
      if (n == 5 && memcmp(s, "false", 5) == 0) {
        memcpy(o, "false", 5);
        return o + 5;
      }
      return NULL;
    default:
      return NULL;
  }
}

static uint8_t *w_number(uint32_t v, uint8_t *o) {
  uint8_t tmp[10];
  int n = 0;
  do {
    tmp[n++] = (uint8_t)('0' + v % 10);
    v /= 10;
  } while (v);
  while (n) *o++ = tmp[--n];
  return o;
}

static void *typed(napi_env env, napi_value v, size_t *length) {
  napi_typedarray_type type;
  void *data = NULL;
  napi_value ab;
  size_t offset;
  *length = 0;
  if (napi_get_typedarray_info(env, v, &type, length, &data, &ab, &offset) != napi_ok) return NULL;
  return data;
}

static napi_value encode(napi_env env, napi_callback_info info) {
  size_t argc = 13;
  napi_value a[13];
  napi_get_cb_info(env, info, &argc, a, NULL, NULL);
  napi_value result;
  int32_t width, from, to;
  double od;
  napi_get_value_int32(env, a[2], &width);
  napi_get_value_int32(env, a[3], &from);
  napi_get_value_int32(env, a[4], &to);
  napi_get_value_double(env, a[6], &od);
  size_t srcLen, posLen, outLen, progLen, maxLen, orgLen, agentLen, resLen;
  const uint8_t *src = typed(env, a[0], &srcLen);
  const int32_t *pos = typed(env, a[1], &posLen);
  uint8_t *out = typed(env, a[5], &outLen);
  const int32_t *prog = typed(env, a[7], &progLen);
  const double *maxes = typed(env, a[8], &maxLen);
  const uint8_t *org = typed(env, a[9], &orgLen);
  const uint8_t *agent = typed(env, a[10], &agentLen);
  double *res = typed(env, a[12], &resLen);
  size_t slots = progLen / 4;
  const uint32_t *ov[MAX_OV] = {0};
  size_t ovLen[MAX_OV] = {0};
  uint32_t ovCount = 0;
  napi_get_array_length(env, a[11], &ovCount);
  int bad = !src || !pos || !out || !prog || !maxes || !org || !agent || !res || resLen < 1 ||
            maxLen < slots || orgLen < 36 || agentLen < 36 || ovCount > MAX_OV || od < 0 ||
            width < 1 || from < 0 || to < from || (size_t)to * (size_t)width > posLen;
  for (uint32_t i = 0; !bad && i < ovCount; i++) {
    napi_value el;
    napi_valuetype t;
    napi_get_element(env, a[11], i, &el);
    napi_typeof(env, el, &t);
    if (t != napi_undefined) ov[i] = typed(env, el, &ovLen[i]);
  }
  for (size_t k = 0; !bad && k < slots; k++) {
    int32_t field = prog[4 * k + 1], ovi = prog[4 * k + 3];
    if (field >= width - 1 || ovi >= (int32_t)ovCount) bad = 1;
  }
  if (bad) {
    napi_throw_error(env, NULL, "tsv-lines: bad arguments");
    return NULL;
  }
  size_t o = (size_t)od;
  size_t fixed = slots * 64 + 128;
  int32_t r = from;
  for (; r < to; r++) {
    const int32_t *p = pos + (size_t)r * (size_t)width;
    if (p[0] < 0) break;
    int32_t lineEnd = p[width - 1];
    if (lineEnd < p[0] || (size_t)lineEnd > srcLen) break;
    if (outLen < o || outLen - o < (size_t)(lineEnd - p[0]) * 4 + fixed) break;
    uint8_t *w = out + o;
    size_t k = 0;
    for (; k < slots; k++) {
      int32_t op = prog[4 * k], field = prog[4 * k + 1], optional = prog[4 * k + 2],
              ovi = prog[4 * k + 3];
      if (k > 0) *w++ = '\t';
      if (op == OP_ORG) {
        memcpy(w, org, 36);
        w += 36;
        continue;
      }
      if (op == OP_AGENT) {
        memcpy(w, agent, 36);
        w += 36;
        continue;
      }
      if (ovi >= 0 && ov[ovi] && (size_t)r < ovLen[ovi] && ov[ovi][r] > 0) {
        w = w_number(ov[ovi][r], w);
        continue;
      }
      if (field < 0) continue;
      const uint8_t *s = src + p[field];
      const uint8_t *e = src + p[field + 1] - 1;
      if (e < s || e > src + srcLen) break;
      if (optional && s == e) continue;
      uint8_t *next = w_field(op, s, e, w, maxes[k]);
      if (!next) break;
      w = next;
    }
    if (k < slots) break;
    *w++ = '\n';
    o = (size_t)(w - out);
  }
  res[0] = (double)o;
  napi_create_int32(env, r, &result);
  return result;
}

/*
 * split(body, p, rows, n, pos, res) -> lines read: TsvRows' split from byte p, as its JS loop does
 * it (per line: where each of the n fields starts, one past the line's end; -(fields) - 1 in
 * place of the first for a line of another width). res[0] = the byte after the last line read.
 */
static napi_value split(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value a[6];
  napi_get_cb_info(env, info, &argc, a, NULL, NULL);
  int32_t p, rows, n;
  napi_get_value_int32(env, a[1], &p);
  napi_get_value_int32(env, a[2], &rows);
  napi_get_value_int32(env, a[3], &n);
  size_t len, posLen, resLen;
  const uint8_t *body = typed(env, a[0], &len);
  int32_t *pos = typed(env, a[4], &posLen);
  double *res = typed(env, a[5], &resLen);
  if (!body || !pos || !res || resLen < 1 || p < 0 || rows < 0 || n < 1 ||
      (size_t)rows * (size_t)(n + 1) > posLen || len > 0x7fffffff) {
    napi_throw_error(env, NULL, "tsv-lines: bad arguments");
    return NULL;
  }
  int32_t width = n + 1, r = 0;
  while ((size_t)p < len && r < rows) {
    int32_t *b = pos + (size_t)r * (size_t)width;
    b[0] = p;
    const uint8_t *nl = memchr(body + p, '\n', len - (size_t)p);
    int32_t i = nl ? (int32_t)(nl - body) : (int32_t)len;
    int32_t k = 0;
    for (int32_t j = p; j < i; j++) {
      if (body[j] == '\t') {
        k++;
        if (k < n) b[k] = j + 1;
      }
    }
    if (k + 1 == n) b[n] = i + 1;
    else b[0] = -(k + 1) - 1;
    r++;
    p = i + 1;
  }
  res[0] = (double)p;
  napi_value result;
  napi_create_int32(env, r, &result);
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "encode", NAPI_AUTO_LENGTH, encode, NULL, &fn);
  napi_set_named_property(env, exports, "encode", fn);
  napi_create_function(env, "split", NAPI_AUTO_LENGTH, split, NULL, &fn);
  napi_set_named_property(env, exports, "split", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
