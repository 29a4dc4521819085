/**
 * The C of the native row path for Redis (RESP2/RESP3 and inline commands): a port of
 * ../protocols/redis.ts (the streaming tokenizer: a line or a bulk payload per call, the command
 * and its key kept, error replies' messages) and of what the processor does with its messages
 * (FIFO pairing, a full queue's oldest reported unknown, orphan responses such as pub/sub
 * pushes, the row, the application metrics), with the same results as the JS path
 * (test/l7/redis-native-diff.test.ts). Compiled after HTTP1_ROWS_C, whose flows, stream
 * handling (buffering, gaps, held segments, resync), pending queue, timeouts, output and metrics
 * it shares: a flow opened with kind FP_KIND_REDIS is tokenized here instead of as HTTP/1.
 */
export const REDIS_ROWS_C = String.raw`
#define FP_REDIS_DEPTH 16
#define FP_REDIS_MAX_LINE (64 * 1024)
#define FP_REDIS_NAME 256
#define FP_REDIS_WORD 512

/* One direction's message in progress (redis.ts's Side). */
typedef struct {
  /* elements left per open aggregate */
  int64_t stack[FP_REDIS_DEPTH];
  int depth;
  /* bulk payload still to come (-1: none) */
  int64_t bulk;
  /* index of the next top-level element (the command and the key are 0 and 1) */
  int elem, active, kind;
  int64_t ts, len;
  uint32_t seq;
  int first_len, second_len, error_len;
  uint8_t first[FP_REDIS_NAME], second[FP_REDIS_WORD], error[FP_REDIS_NAME];
} fp_redis_side_t;

struct fp_redis {
  fp_redis_side_t side[2];
};

typedef struct fp_redis_resp {
  int status;
  int64_t length;
  int exc_len;
  uint8_t exc[FP_REDIS_NAME];
} fp_redis_resp_t;

/* Commands whose first argument is not a key (redis.ts's NO_KEY). */
static const char *const FP_REDIS_NO_KEY[] = {
  "PING", "ECHO", "AUTH", "HELLO", "SELECT", "INFO", "CONFIG", "CLIENT", "QUIT", "MULTI",
  "EXEC", "DISCARD", "SUBSCRIBE", "PSUBSCRIBE", "UNSUBSCRIBE", "PUBLISH", "SCRIPT", "EVAL",
  "EVALSHA", "FLUSHALL", "FLUSHDB", "DBSIZE", "COMMAND", "SCAN", "KEYS", "TIME", "LASTSAVE",
  "ACL", "CLUSTER"};

static int fp_redis_no_key(const uint8_t *cmd, int n) {
  for (size_t i = 0; i < sizeof FP_REDIS_NO_KEY / sizeof FP_REDIS_NO_KEY[0]; i++) {
    const char *k = FP_REDIS_NO_KEY[i];
    if ((int)strlen(k) == n && memcmp(k, cmd, (size_t)n) == 0) return 1;
  }
  return 0;
}

/* commandName (redis.ts): the first FP_REDIS_NAME bytes, a-z upper-cased. */
static int fp_redis_name(uint8_t *dst, const uint8_t *b, int32_t s, int32_t e) {
  int32_t n = e - s;
  if (n <= 0) return 0;
  if (n > FP_REDIS_NAME) n = FP_REDIS_NAME;
  for (int32_t i = 0; i < n; i++) {
    uint8_t c = b[s + i];
    dst[i] = c >= 'a' && c <= 'z' ? (uint8_t)(c - 32) : c;
  }
  return n;
}

static int fp_redis_resp_type(uint8_t t) {
  switch (t) {
    case '*': case '%': case '~': case '>': case '|': case '$': case '!': case '=':
    case '+': case ':': case '_': case ',': case '#': case '(': case '-': return 1;
    default: return 0;
  }
}

/* One row (processor.ts's emit with a Redis request and response). */
static void fp_emit_redis(fp_l7_t *s, fp_flow_t *f, const fp_req_t *q, int64_t qts, uint32_t qseq,
                          const fp_redis_resp_t *r, int64_t rts, uint32_t rseq, int status) {
  int64_t start, end, dur;
  fp_row_times(q != NULL, qts, r != NULL, rts, status, &start, &end, &dur);
  uint8_t *o = fp_row_head(s, f, start, end);
  if (o == NULL) return;
  FP_W_LIT(o, "\"\",\"request_type\":");
  o = fp_w_jstr(o, q ? q->host : NULL, q ? (size_t)q->host_len : 0);
  FP_W_LIT(o, ",\"request_domain\":\"\",\"request_resource\":");
  o = fp_w_jstr(o, q ? q->path : NULL, q ? (size_t)q->path_len : 0);
  FP_W_LIT(o, ",\"endpoint\":");
  o = fp_w_jstr(o, q ? q->host : NULL, q ? (size_t)q->host_len : 0);
  FP_W_LIT(o, ",\"request_length\":");
  o = fp_w_i64(o, q ? q->length : 0);
  o = fp_w_response(o, r ? r->length : 0, status, 0);
  FP_W_LIT(o, ",\"response_exception\":");
  o = fp_w_jstr(o, r ? r->exc : NULL, r ? (size_t)r->exc_len : 0);
  FP_W_LIT(o, ",\"response_duration_us\":");
  o = fp_w_i64(o, dur);
  FP_W_LIT(o, ",\"trace_id\":\"\",\"span_id\":\"\",\"parent_span_id\":\"\",\"x_request_id\":\"\"");
  /* app-metrics.ts's hasReq: a request's length is never 0. */
  fp_row_end(s, f, o, q ? qseq : 0, r ? rseq : 0, end, status, q ? q->host : NULL, q ? (size_t)q->host_len : 0,
             q != NULL, dur);
}

/* finish (redis.ts), then processor.ts's request() / response(). */
static void fp_redis_finish(fp_l7_t *s, fp_flow_t *f, int d, fp_redis_side_t *x) {
  x->active = 0;
  if (d == 0) {
    fp_req_t *q = fp_pend_add(s, f);
    if (q == NULL) return;
    q->ts = x->ts;
    q->seq = x->seq;
    q->length = x->len;
    q->host_len = x->first_len;
    memcpy(q->host, x->first, (size_t)x->first_len);
    q->path_len = fp_redis_no_key(x->first, x->first_len) ? 0 : x->second_len;
    memcpy(q->path, x->second, (size_t)q->path_len);
    fp_list(s, f);
    return;
  }
  fp_redis_resp_t r;
  int err = x->error_len > 0 || x->kind == '-';
  r.status = err ? FP_CLIENT_ERROR : FP_OK;
  r.length = x->len;
  r.exc_len = err ? x->error_len : 0;
  memcpy(r.exc, x->error, (size_t)r.exc_len);
  fp_answer(s, f, &r, x->ts, x->seq, r.status);
}

/* element (redis.ts): one element complete; the message ends with the outermost aggregate. */
static void fp_redis_element(fp_l7_t *s, fp_flow_t *f, int d, fp_redis_side_t *x) {
  if (x->depth == 1) x->elem++;
  while (x->depth > 0) {
    if (--x->stack[x->depth - 1] > 0) return;
    x->depth--;
  }
  fp_redis_finish(s, f, d, x);
}

/* inline (redis.ts): a client's command as one line of words. */
static int fp_redis_inline(fp_l7_t *s, fp_flow_t *f, int d, fp_redis_side_t *x, const uint8_t *b, int32_t off,
                           int32_t end, int64_t *n_out) {
  if (d != 0 || x->depth != 0) return -1;
  int32_t lf = -1;
  for (int32_t i = off; i < end; i++)
    if (b[i] == '\n') {
      lf = i;
      break;
    }
  if (lf < 0) return end - off > FP_REDIS_MAX_LINE ? -1 : 0;
  int32_t eol = lf > off && b[lf - 1] == '\r' ? lf - 1 : lf;
  for (int32_t i = off; i < eol; i++)
    if (b[i] < 32 || b[i] > 126) return -1;
  *n_out = lf + 1 - off;
  if (eol == off) {
    x->active = 0;
    return 1;
  }
  x->len += *n_out;
  int32_t lim = eol < off + FP_REDIS_WORD ? eol : off + FP_REDIS_WORD;
  int32_t i = off;
  while (i < lim && (b[i] == ' ' || b[i] == '\t')) i++;
  int32_t j = i;
  while (j < lim && b[j] != ' ' && b[j] != '\t') j++;
  x->first_len = fp_redis_name(x->first, b, i, j);
  i = j;
  while (i < lim && (b[i] == ' ' || b[i] == '\t')) i++;
  j = i;
  while (j < lim && b[j] != ' ' && b[j] != '\t') j++;
  x->second_len = fp_copy_cut(x->second, b, i, j, FP_REDIS_WORD);
  fp_redis_finish(s, f, d, x);
  return 1;
}

/* parse (redis.ts): one line or one bulk payload of direction d; 1 and *n_out consumed, 0 for
   more bytes, -1 for a stream that is not RESP. */
static int fp_redis_parse(fp_l7_t *s, fp_flow_t *f, int d, const uint8_t *b, int32_t off, int32_t end, int64_t *n_out) {
  fp_redis_side_t *x = &f->redis->side[d];
  if (!x->active) {
    x->active = 1;
    x->ts = s->cur_ts;
    x->seq = s->cur_seq;
    x->len = 0;
    x->first_len = x->second_len = x->error_len = 0;
    x->elem = 0;
    x->kind = b[off];
  }
  if (x->bulk >= 0) {
    /* the payload and its CRLF: kept when it is the command or its key, else skipped */
    int64_t need = x->bulk + 2;
    int wanted = d == 0 && x->depth == 1 && x->elem < 2 && x->bulk <= 256;
    if (wanted) {
      if (end - off < need) return 0;
      if (x->elem == 0) x->first_len = fp_redis_name(x->first, b, off, off + (int32_t)x->bulk);
      else x->second_len = fp_copy_cut(x->second, b, off, off + (int32_t)x->bulk, 256);
    }
    x->bulk = -1;
    x->len += need;
    fp_redis_element(s, f, d, x);
    *n_out = need;
    return 1;
  }
  uint8_t t = b[off];
  if (!fp_redis_resp_type(t)) return fp_redis_inline(s, f, d, x, b, off, end, n_out);
  int32_t eol = fp_find_crlf(b, off, end);
  if (eol < 0) return end - off > FP_REDIS_MAX_LINE ? -1 : 0;
  int64_t n = eol + 2 - off;
  x->len += n;
  *n_out = n;
  switch (t) {
    case '*': case '%': case '~': case '>': case '|': {
      int64_t c = b[off + 1] == '-' ? -1 : fp_parse_dec(b, off + 1, eol);
      if (c == -1 && b[off + 1] != '-') return -1;
      int64_t cnt = t == '%' || t == '|' ? c * 2 : c;
      if (cnt <= 0) fp_redis_element(s, f, d, x);
      else {
        if (x->depth >= FP_REDIS_DEPTH || cnt > (1 << 24)) return -1;
        x->stack[x->depth++] = cnt;
      }
      return 1;
    }
    case '$': case '!': case '=': {
      if (b[off + 1] == '-') {
        fp_redis_element(s, f, d, x);
        return 1;
      }
      int64_t l = fp_parse_dec(b, off + 1, eol);
      if (l < 0 || l > 512LL * 1024 * 1024) return -1;
      x->bulk = l;
      if (t == '!') {
        memcpy(x->error, "error", 5);
        x->error_len = 5;
      }
      return 1;
    }
    case '-':
      if (x->depth == 0) x->error_len = fp_copy_cut(x->error, b, off + 1, eol, FP_REDIS_NAME);
      fp_redis_element(s, f, d, x);
      return 1;
    default: /* + : _ , # ( */
      fp_redis_element(s, f, d, x);
      return 1;
  }
}

/* onGap (redis.ts). */
static void fp_redis_gap(fp_flow_t *f, int d) {
  fp_redis_side_t *x = &f->redis->side[d];
  x->depth = 0;
  x->bulk = -1;
  x->active = 0;
}

/* The flow's tokenizer state, when it is opened as Redis: 0 when it cannot be had. */
static int fp_redis_open(fp_flow_t *f) {
  f->redis = calloc(1, sizeof(struct fp_redis));
  if (f->redis == NULL) return 0;
  f->redis->side[0].bulk = f->redis->side[1].bulk = -1;
  return 1;
}
`;
