/**
 * The C of the native row path for PostgreSQL (frontend/backend protocol v3): a port of
 * ../protocols/postgres.ts (startup, simple and extended query, the answer at ReadyForQuery or a
 * FATAL error while logging in, TLS asked and given) with ../sql-normalize.ts's PostgreSQL rules,
 * and of what the processor does with its messages (FIFO pairing, one-way messages, the row, the
 * application metrics), with the same results as the JS path (test/l7/pg-native-diff.test.ts).
 * Compiled after HTTP1_ROWS_C, whose flows, stream handling, pending queue, timeouts, output and
 * metrics it shares: a flow opened with kind FP_KIND_PG is parsed here.
 *
 * Strings are JS strings' bytes: the SQL, the error message and the rows' text are held as WTF-8
 * (what utf8Slice decodes, as UTF-8, and a lone high surrogate where a slice cut a pair), the
 * database, user and SQLSTATE as latin1, as bytes.ts's latin1() reads them.
 */
export const PG_ROWS_C = String.raw`
#define FP_PG_SQL_IN 4096
#define FP_PG_SQL_UNITS 1024
#define FP_PG_EP_UNITS 128
#define FP_PG_EXC_UNITS 256
#define FP_PG_MSG_IN 256
#define FP_PG_NAME 64
#define FP_PG_STMTS 256
/* decoded SQL: each input byte at most one U+FFFD (3 bytes) */
#define FP_PG_DEC_MAX (3 * FP_PG_SQL_IN)
/* a WTF-8 string of n UTF-16 units: at most 3 bytes a unit */
#define FP_PG_SQL_MAX (3 * FP_PG_SQL_UNITS)
#define FP_PG_SSL_REQUEST 80877103
#define FP_PG_GSS_REQUEST 80877104
#define FP_PG_CANCEL 80877102
#define FP_PG_V3 196608
#define FP_PG_MAX_MSG (1 << 30)

enum { FP_PG_STARTUP, FP_PG_QUERY, FP_PG_EXECUTE, FP_PG_TERMINATE, FP_PG_CANCEL_REQ };
static const char *const FP_PG_TYPE[] = {"Startup", "Query", "Execute", "Terminate", "CancelRequest"};

typedef struct {
  uint8_t name[FP_PG_NAME];
  int name_len, sql_len;
  uint8_t *sql;
} fp_pg_stmt_t;

struct fp_pg {
  int started, ssl_asked, in_login, encrypted, outstanding;
  int db_len;
  uint8_t db[FP_PG_NAME];
  /* extended-query batch since the last Sync */
  int batch_open, batch_sql_len;
  int64_t batch_len, batch_ts;
  uint32_t batch_seq;
  uint8_t batch_sql[FP_PG_SQL_MAX];
  /* prepared statements by name (postgres.ts's stmts) */
  fp_pg_stmt_t *stmts;
  int nstmts;
  /* the answer being gathered */
  int err_code_len, err_sev_len, err_msg_len;
  uint8_t err_code[5], err_sev[16], err_msg[3 * FP_PG_MSG_IN];
  int64_t resp_len, resp_ts;
  /* ctx.seq as the JS holds it (a signed 32-bit number), -1 for none */
  int32_t resp_seq;
};

typedef struct fp_pg_resp {
  int status;
  int64_t length;
  int exc_len;
  uint8_t exc[3 * FP_PG_EXC_UNITS];
} fp_pg_resp_t;

/* An endpoint cut from its SQL: 128 units end within 3 * 128 bytes, and the character across the
   cut within 4 more. */
#define FP_PG_EP_MAX (3 * FP_PG_EP_UNITS + 4)

/* Scratch of the thread making rows (one per fp_l7_t: the JS thread inline, or its row thread). */
static __thread uint8_t fp_pg_dec[FP_PG_DEC_MAX], fp_pg_norm[FP_PG_DEC_MAX], fp_pg_q[FP_PG_SQL_MAX],
    fp_pg_ep[FP_PG_EP_MAX], fp_pg_exc[5 * 2 + 1 + 3 * FP_PG_MSG_IN];

static int32_t fp_pg_i32(const uint8_t *b, int32_t o) {
  return (int32_t)(((uint32_t)b[o] << 24) | ((uint32_t)b[o + 1] << 16) | ((uint32_t)b[o + 2] << 8) | b[o + 3]);
}

static int32_t fp_pg_cstr(const uint8_t *b, int32_t s, int32_t e) {
  while (s < e && b[s] != 0) s++;
  return s;
}

/* A latin1 string as UTF-8 (its bytes 0x80-0xFF take two). */
static int fp_pg_latin1_utf8(uint8_t *dst, const uint8_t *s, int n) {
  int o = 0;
  for (int i = 0; i < n; i++) {
    uint8_t c = s[i];
    if (c < 0x80) dst[o++] = c;
    else {
      dst[o++] = (uint8_t)(0xC0 | (c >> 6));
      dst[o++] = (uint8_t)(0x80 | (c & 0x3F));
    }
  }
  return o;
}

/* utf8 (bytes.ts): at most max bytes of [s, e) decoded as utf8Slice does (the Encoding
   Standard's decoder: each maximal invalid subpart one U+FFFD), written back as UTF-8. */
static int fp_pg_utf8(uint8_t *dst, const uint8_t *b, int32_t s, int32_t e, int32_t max) {
  if (e - s > max) e = s + max;
  int o = 0;
  int32_t i = s;
  while (i < e) {
    uint8_t c = b[i];
    if (c < 0x80) {
      dst[o++] = c;
      i++;
      continue;
    }
    int need = 0;
    uint8_t lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) need = 1;
    else if (c >= 0xE0 && c <= 0xEF) {
      need = 2;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      need = 3;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    }
    int32_t j = i + 1;
    int k = 0;
    while (need > 0 && k < need && j < e && b[j] >= lo && b[j] <= hi) {
      lo = 0x80;
      hi = 0xBF;
      j++;
      k++;
    }
    if (need > 0 && k == need) {
      memcpy(dst + o, b + i, (size_t)(need + 1));
      o += need + 1;
    } else {
      dst[o++] = 0xEF;
      dst[o++] = 0xBF;
      dst[o++] = 0xBD;
    }
    i = j;
  }
  return o;
}

/* String.prototype.slice(0, units) of a WTF-8 string, in place: its new byte length. A
   surrogate pair cut in the middle leaves its high surrogate (3 bytes where the pair took 4). */
static int fp_pg_cut(uint8_t *s, int n, int units) {
  int i = 0, u = 0;
  while (i < n) {
    uint8_t c = s[i];
    int len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    int w = len == 4 ? 2 : 1;
    if (u + w > units) {
      if (w == 2 && u + 1 == units) {
        uint32_t cp = ((uint32_t)(c & 7) << 18) | ((uint32_t)(s[i + 1] & 0x3F) << 12) |
                      ((uint32_t)(s[i + 2] & 0x3F) << 6) | (uint32_t)(s[i + 3] & 0x3F);
        uint32_t hs = 0xD800 + ((cp - 0x10000) >> 10);
        s[i] = (uint8_t)(0xE0 | (hs >> 12));
        s[i + 1] = (uint8_t)(0x80 | ((hs >> 6) & 0x3F));
        s[i + 2] = (uint8_t)(0x80 | (hs & 0x3F));
        return i + 3;
      }
      return i;
    }
    u += w;
    i += len;
  }
  return n;
}

/* sql-normalize.ts's isIdent and isWord */
static int fp_pg_ident(uint8_t c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == '$' || c > 127;
}
static int fp_pg_word(uint8_t c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}
static int fp_pg_digit(uint8_t c) { return c >= '0' && c <= '9'; }

/* normalizeSql(sql, "postgresql") on the string's UTF-8 bytes (its rules look at ASCII only, and
   every byte of a longer character is above 127 as its UTF-16 units are): the length written. */
static int fp_pg_normalize(uint8_t *out, const uint8_t *q, int n) {
  int o = 0, i = 0, space = 0;
  while (i < n) {
    uint8_t c = q[i];
    if (c == 32 || c == 9 || c == 10 || c == 13) {
      space = 1;
      i++;
      continue;
    }
    if (space && o > 0) out[o++] = ' ';
    space = 0;
    if (c == 39) {
      i++;
      while (i < n) {
        if (q[i] == c) {
          if (i + 1 < n && q[i + 1] == c) i += 2;
          else {
            i++;
            break;
          }
        } else i++;
      }
      out[o++] = '?';
      continue;
    }
    if (c == 36) {
      /* $tag$ ... $tag$: the tag's pattern looked for in the next 66 characters */
      int lim = i + 66 < n ? i + 66 : n, j = i + 1;
      if (j < lim && ((q[j] >= 'A' && q[j] <= 'Z') || (q[j] >= 'a' && q[j] <= 'z') || q[j] == '_')) {
        j++;
        while (j < lim && fp_pg_word(q[j])) j++;
      }
      if (j < lim && q[j] == '$') {
        int m = j - i + 1, close = -1;
        for (int k = i + m; k + m <= n; k++)
          if (memcmp(q + k, q + i, (size_t)m) == 0) {
            close = k;
            break;
          }
        i = close < 0 ? n : close + m;
        out[o++] = '?';
        continue;
      }
    }
    uint8_t prev = o > 0 ? out[o - 1] : 32;
    if ((fp_pg_digit(c) || (c == 46 && i + 1 < n && fp_pg_digit(q[i + 1]))) && !fp_pg_ident(prev)) {
      i++;
      while (i < n) {
        uint8_t d = q[i];
        if (fp_pg_ident(d) || d == 46) i++;
        else if ((d == 43 || d == 45) && (q[i - 1] | 32) == 101) i++;
        else break;
      }
      out[o++] = '?';
      continue;
    }
    /* quoted identifiers stay as they are: double quotes, and backticks (MySQL's, which
       normalizeSql takes in every dialect) */
    if (c == 34 || c == 96) {
      int e = n;
      for (int k = i + 1; k < n; k++)
        if (q[k] == c) {
          e = k + 1;
          break;
        }
      memcpy(out + o, q + i, (size_t)(e - i));
      o += e - i;
      i = e;
      continue;
    }
    int j = i + 1;
    if (fp_pg_ident(c))
      while (j < n && fp_pg_word(q[j])) j++;
    memcpy(out + o, q + i, (size_t)(j - i));
    o += j - i;
    i = j;
  }
  return o;
}

/* normalizeSql(utf8(b, s, e, 4096), "postgresql").slice(0, 1024) into dst: its length. */
static int fp_pg_sql(uint8_t *dst, const uint8_t *b, int32_t s, int32_t e) {
  int n = fp_pg_utf8(fp_pg_dec, b, s, e, FP_PG_SQL_IN);
  n = fp_pg_normalize(fp_pg_norm, fp_pg_dec, n);
  n = fp_pg_cut(fp_pg_norm, n, FP_PG_SQL_UNITS);
  memcpy(dst, fp_pg_norm, (size_t)n);
  return n;
}

/* A request's resource and endpoint, one after the other (the endpoint is not always a prefix:
   it may end in the high surrogate of a pair the resource keeps whole): in path when they fit,
   else in a block of their own, freed with the request's row. */
static void fp_pg_set_res(fp_req_t *q, const uint8_t *res, int res_len, const uint8_t *ep, int ep_len) {
  int n = res_len + ep_len;
  uint8_t *p = q->path;
  if (n > FP_PATH_MAX) {
    q->big = malloc((size_t)n);
    if (q->big == NULL) return;
    p = q->big;
  }
  memcpy(p, res, (size_t)res_len);
  memcpy(p + res_len, ep, (size_t)ep_len);
  q->path_len = res_len;
  q->ep_len = ep_len;
}

/* A request of the flow's database (postgres.ts's ctx.request), its resource to be set. */
static void fp_pg_req_init(fp_req_t *q, const struct fp_pg *g, int type, int64_t ts, uint32_t seq, int64_t len,
                           int version, int domain) {
  q->ts = ts;
  q->seq = seq;
  q->length = len;
  q->method = type;
  q->ver_len = version ? 3 : 0;
  q->host_len = domain ? g->db_len : 0;
  memcpy(q->host, g->db, (size_t)q->host_len);
  q->big = NULL;
  q->path_len = q->ep_len = 0;
}

/* One row (processor.ts's emit with a PostgreSQL request and response); q's block is freed. */
static void fp_emit_pg(fp_l7_t *s, fp_flow_t *f, fp_req_t *q, int64_t qts, uint32_t qseq, const fp_pg_resp_t *r,
                       int64_t rts, uint32_t rseq, int status) {
  int64_t start, end, dur;
  fp_row_times(q != NULL, qts, r != NULL, rts, status, &start, &end, &dur);
  uint8_t *o = fp_row_head(s, f, start, end);
  const uint8_t *res = q == NULL ? NULL : q->big != NULL ? q->big : q->path;
  if (o != NULL) {
    if (q != NULL) {
      if (q->ver_len) FP_W_LIT(o, "\"3.0\",\"request_type\":\"");
      else FP_W_LIT(o, "\"\",\"request_type\":\"");
      size_t tl = strlen(FP_PG_TYPE[q->method]);
      memcpy(o, FP_PG_TYPE[q->method], tl);
      o += tl;
      FP_W_LIT(o, "\",\"request_domain\":");
      o = fp_w_jstr(o, q->host, (size_t)q->host_len);
      FP_W_LIT(o, ",\"request_resource\":");
      o = fp_w_jstr_wtf8(o, res, (size_t)q->path_len);
      FP_W_LIT(o, ",\"endpoint\":");
      o = fp_w_jstr_wtf8(o, res + q->path_len, (size_t)q->ep_len);
      FP_W_LIT(o, ",\"request_length\":");
      o = fp_w_i64(o, q->length);
    } else {
      FP_W_LIT(o, "\"3.0\",\"request_type\":\"\",\"request_domain\":\"\",\"request_resource\":\"\",\"endpoint\":\"\",\"request_length\":0");
    }
    o = fp_w_response(o, r ? r->length : 0, status, 0);
    FP_W_LIT(o, ",\"response_exception\":");
    o = fp_w_jstr_wtf8(o, r ? r->exc : NULL, r ? (size_t)r->exc_len : 0);
    FP_W_LIT(o, ",\"response_duration_us\":");
    o = fp_w_i64(o, dur);
    FP_W_LIT(o, ",\"trace_id\":\"\",\"span_id\":\"\",\"parent_span_id\":\"\",\"x_request_id\":\"\"");
    /* app-metrics.ts's hasReq: a request's type is never empty. */
    fp_row_end(s, f, o, q ? qseq : 0, r ? rseq : 0, end, status, q ? res + q->path_len : NULL,
               q ? (size_t)q->ep_len : 0, q != NULL, dur);
  }
  if (q != NULL) {
    free(q->big);
    q->big = NULL;
  }
}

/* processor.ts's request(): a one-way message is its own row, others wait for their answer. */
static fp_req_t *fp_pg_request(fp_l7_t *s, fp_flow_t *f) {
  fp_req_t *q = fp_pend_add(s, f);
  if (q != NULL) fp_list(s, f);
  return q;
}

static void fp_pg_one_way(fp_l7_t *s, fp_flow_t *f, int type, int64_t len, int version, int domain) {
  fp_req_t q;
  fp_pg_req_init(&q, f->pg, type, s->cur_ts, s->cur_seq, len, version, domain);
  fp_emit_pg(s, f, &q, q.ts, q.seq, NULL, q.ts, 0, FP_OK);
}

/* A query's request (a simple query, or an extended-query batch at its Sync): its SQL, the
   endpoint the SQL's first 128 units. */
static void fp_pg_query(fp_l7_t *s, fp_flow_t *f, int type, const uint8_t *sql, int sql_len, int64_t len, int64_t ts,
                        uint32_t seq) {
  struct fp_pg *g = f->pg;
  g->outstanding++;
  int ep = sql_len < FP_PG_EP_MAX ? sql_len : FP_PG_EP_MAX;
  memcpy(fp_pg_ep, sql, (size_t)ep);
  ep = fp_pg_cut(fp_pg_ep, ep, FP_PG_EP_UNITS);
  fp_req_t *q = fp_pg_request(s, f);
  if (q == NULL) return;
  fp_pg_req_init(q, g, type, ts, seq, len, 1, 1);
  fp_pg_set_res(q, sql, sql_len, fp_pg_ep, ep);
}

static void fp_pg_batch(fp_l7_t *s, struct fp_pg *g, const uint8_t *sql, int sql_len, int64_t len) {
  if (!g->batch_open) {
    g->batch_open = 1;
    g->batch_sql_len = 0;
    g->batch_len = 0;
    g->batch_ts = s->cur_ts;
    g->batch_seq = s->cur_seq;
  }
  if (sql_len > 0 && g->batch_sql_len == 0) {
    memcpy(g->batch_sql, sql, (size_t)sql_len);
    g->batch_sql_len = sql_len;
  }
  g->batch_len += len + 1;
}

static fp_pg_stmt_t *fp_pg_stmt(struct fp_pg *g, const uint8_t *name, int n) {
  for (int i = 0; i < g->nstmts; i++)
    if (g->stmts[i].name_len == n && memcmp(g->stmts[i].name, name, (size_t)n) == 0) return &g->stmts[i];
  return NULL;
}

static int fp_pg_front(fp_l7_t *s, fp_flow_t *f, const uint8_t *b, int32_t off, int32_t end, int64_t *n_out) {
  struct fp_pg *g = f->pg;
  if (end - off < 5) return 0;
  if (!g->started) {
    int32_t len = fp_pg_i32(b, off);
    if (len < 8 || len > 10000) return -1;
    if (end - off < len) return 0;
    int32_t code = fp_pg_i32(b, off + 4);
    *n_out = len;
    if (code == FP_PG_SSL_REQUEST || code == FP_PG_GSS_REQUEST) {
      g->ssl_asked = 1;
      *n_out = 8;
      return 1;
    }
    if (code == FP_PG_CANCEL) {
      fp_pg_one_way(s, f, FP_PG_CANCEL_REQ, len, 0, 0);
      return 1;
    }
    if (code != FP_PG_V3) return -1;
    /* key\0value\0 ... \0 */
    uint8_t user[FP_PG_NAME];
    int user_len = 0;
    int32_t p = off + 8, lim = off + len;
    while (p < lim - 1) {
      int32_t ke = fp_pg_cstr(b, p, lim);
      int32_t ve = fp_pg_cstr(b, ke + 1, lim);
      int32_t kl = ke - p < 32 ? ke - p : 32;
      if (kl == 8 && memcmp(b + p, "database", 8) == 0) g->db_len = fp_copy_cut(g->db, b, ke + 1, ve, FP_PG_NAME);
      else if (kl == 4 && memcmp(b + p, "user", 4) == 0) user_len = fp_copy_cut(user, b, ke + 1, ve, FP_PG_NAME);
      p = ve + 1;
    }
    if (g->db_len == 0) {
      memcpy(g->db, user, (size_t)user_len);
      g->db_len = user_len;
    }
    g->started = 1;
    g->in_login = 1;
    g->outstanding++;
    fp_req_t *q = fp_pg_request(s, f);
    if (q == NULL) return 1;
    fp_pg_req_init(q, g, FP_PG_STARTUP, s->cur_ts, s->cur_seq, len, 1, 1);
    if (user_len > 0) {
      uint8_t res[5 + 2 * FP_PG_NAME];
      memcpy(res, "user ", 5);
      int n = 5 + fp_pg_latin1_utf8(res + 5, user, user_len);
      fp_pg_set_res(q, res, n, NULL, 0);
    }
    return 1;
  }
  uint8_t t = b[off];
  int32_t len = fp_pg_i32(b, off + 1);
  if (len < 4 || len > FP_PG_MAX_MSG) return -1;
  int64_t total = 1 + (int64_t)len;
  int64_t whole = (int64_t)off + total;
  *n_out = total;
  switch (t) {
    case 81: { /* 'Q' simple query */
      if (end - off < total && total <= 64 * 1024) return 0;
      int32_t e = whole - 1 < end ? (int32_t)(whole - 1) : end;
      int n = fp_pg_sql(fp_pg_q, b, off + 5, e);
      fp_pg_query(s, f, FP_PG_QUERY, fp_pg_q, n, len, s->cur_ts, s->cur_seq);
      return 1;
    }
    case 80: { /* 'P' Parse: name\0 query\0 */
      if (end - off < total && total <= 64 * 1024) return 0;
      int32_t e = whole < end ? (int32_t)whole : end;
      int32_t ne = fp_pg_cstr(b, off + 5, e);
      int32_t qe = fp_pg_cstr(b, ne + 1, e);
      uint8_t sql[FP_PG_SQL_MAX];
      int n = ne + 1 < qe ? fp_pg_sql(sql, b, ne + 1, qe) : 0;
      uint8_t name[FP_PG_NAME];
      int nl = fp_copy_cut(name, b, off + 5, ne, FP_PG_NAME);
      if (nl > 0 && g->nstmts < FP_PG_STMTS) {
        fp_pg_stmt_t *st = fp_pg_stmt(g, name, nl);
        if (st == NULL) {
          if (g->stmts == NULL) g->stmts = calloc(FP_PG_STMTS, sizeof(fp_pg_stmt_t));
          if (g->stmts != NULL) {
            st = &g->stmts[g->nstmts++];
            memcpy(st->name, name, (size_t)nl);
            st->name_len = nl;
          }
        }
        if (st != NULL) {
          uint8_t *v = realloc(st->sql, (size_t)(n > 0 ? n : 1));
          if (v != NULL) {
            memcpy(v, sql, (size_t)n);
            st->sql = v;
            st->sql_len = n;
          }
        }
      }
      fp_pg_batch(s, g, sql, n, len);
      return 1;
    }
    case 66: { /* 'B' Bind: portal\0 statement\0 ... */
      if (end - off < total && total <= 64 * 1024) return 0;
      int32_t e = whole < end ? (int32_t)whole : end;
      int32_t pe = fp_pg_cstr(b, off + 5, e);
      int32_t se = fp_pg_cstr(b, pe + 1, e);
      uint8_t name[FP_PG_NAME];
      int nl = fp_copy_cut(name, b, pe + 1, se, FP_PG_NAME);
      fp_pg_stmt_t *st = nl > 0 ? fp_pg_stmt(g, name, nl) : NULL;
      fp_pg_batch(s, g, st ? st->sql : NULL, st ? st->sql_len : 0, len);
      return 1;
    }
    case 69: /* 'E' Execute */
      fp_pg_batch(s, g, NULL, 0, len);
      return 1;
    case 83: /* 'S' Sync: the batch becomes one request, answered at ReadyForQuery */
      if (g->batch_open) {
        g->batch_open = 0;
        fp_pg_query(s, f, FP_PG_EXECUTE, g->batch_sql, g->batch_sql_len, g->batch_len + len, g->batch_ts, g->batch_seq);
      }
      return 1;
    case 88: /* 'X' Terminate */
      fp_pg_one_way(s, f, FP_PG_TERMINATE, len, 1, 1);
      return 1;
    case 112: case 68: case 67: case 72: case 70: case 100: case 99: case 102:
      return 1;
    default:
      return -1;
  }
}

/* answer (postgres.ts), then processor.ts's response(). */
static void fp_pg_answer(fp_l7_t *s, fp_flow_t *f) {
  struct fp_pg *g = f->pg;
  if (g->outstanding > 0) {
    g->outstanding--;
    fp_pg_resp_t r;
    int err = g->err_code_len > 0;
    r.status = FP_OK;
    r.exc_len = 0;
    if (err) {
      const uint8_t *c = g->err_code;
      int server = g->err_code_len >= 2 && ((c[0] == '0' && c[1] == '8') || (c[0] == '5' && c[1] == '3') ||
                                            (c[0] == '5' && c[1] == '7') || (c[0] == '5' && c[1] == '8') ||
                                            (c[0] == 'X' && c[1] == 'X'));
      r.status = server ? FP_SERVER_ERROR : FP_CLIENT_ERROR;
      int n = fp_pg_latin1_utf8(fp_pg_exc, g->err_code, g->err_code_len);
      fp_pg_exc[n++] = ' ';
      memcpy(fp_pg_exc + n, g->err_msg, (size_t)g->err_msg_len);
      n = fp_pg_cut(fp_pg_exc, n + g->err_msg_len, FP_PG_EXC_UNITS);
      memcpy(r.exc, fp_pg_exc, (size_t)n);
      r.exc_len = n;
    }
    r.length = g->resp_len;
    fp_answer(s, f, &r, g->resp_ts, (uint32_t)g->resp_seq, r.status);
  }
  g->err_code_len = g->err_msg_len = g->err_sev_len = 0;
  g->resp_len = 0;
  g->resp_seq = -1;
}

static int fp_pg_back(fp_l7_t *s, fp_flow_t *f, const uint8_t *b, int32_t off, int32_t end, int64_t *n_out) {
  struct fp_pg *g = f->pg;
  if (g->ssl_asked && !g->started) {
    /* the one-byte answer to SSLRequest: 'S' means TLS follows */
    g->ssl_asked = 0;
    if (b[off] == 83) g->encrypted = 1;
    *n_out = 1;
    return 1;
  }
  if (end - off < 5) return 0;
  uint8_t t = b[off];
  int32_t len = fp_pg_i32(b, off + 1);
  if (len < 4 || len > FP_PG_MAX_MSG) return -1;
  int64_t total = 1 + (int64_t)len;
  if (g->resp_seq == -1) {
    g->resp_seq = (int32_t)s->cur_seq;
    g->resp_ts = s->cur_ts;
  }
  /* counted again when a message waits for its bytes, as postgres.ts does */
  g->resp_len += total;
  *n_out = total;
  switch (t) {
    case 67: /* 'C' CommandComplete (its tag makes no column) */
      if (end - off < total && total <= 4096) return 0;
      return 1;
    case 69: { /* 'E' ErrorResponse: fields (type byte, cstring)* */
      if (end - off < total && total <= 16 * 1024) return 0;
      int32_t e = (int64_t)off + total < end ? (int32_t)(off + total) : end;
      int32_t p = off + 5;
      while (p < e && b[p] != 0) {
        uint8_t ft = b[p];
        int32_t ve = fp_pg_cstr(b, p + 1, e);
        if (ft == 67) g->err_code_len = fp_copy_cut(g->err_code, b, p + 1, ve, 5);
        else if (ft == 77) g->err_msg_len = fp_pg_utf8(g->err_msg, b, p + 1, ve, FP_PG_MSG_IN);
        else if (ft == 86 || (ft == 83 && g->err_sev_len == 0)) g->err_sev_len = fp_copy_cut(g->err_sev, b, p + 1, ve, 16);
        p = ve + 1;
      }
      if (g->in_login && g->err_sev_len == 5 &&
          (memcmp(g->err_sev, "FATAL", 5) == 0 || memcmp(g->err_sev, "PANIC", 5) == 0))
        fp_pg_answer(s, f);
      return 1;
    }
    case 90: /* 'Z' ReadyForQuery */
      g->in_login = 0;
      fp_pg_answer(s, f);
      return 1;
    case 82: case 83: case 75: case 84: case 68: case 73: case 78: case 49: case 50: case 51: case 110:
    case 115: case 116: case 65: case 71: case 72: case 87: case 99: case 100: case 118:
      return 1;
    default:
      return -1;
  }
}

/* parse (postgres.ts): one message of direction d; 1 and *n_out consumed, 0 for more bytes, -1
   for a stream that is not PostgreSQL. */
static int fp_pg_parse(fp_l7_t *s, fp_flow_t *f, int d, const uint8_t *b, int32_t off, int32_t end, int64_t *n_out) {
  if (f->pg->encrypted) {
    *n_out = (int64_t)(end - off) + 1000000000;
    return 1;
  }
  return d == 0 ? fp_pg_front(s, f, b, off, end, n_out) : fp_pg_back(s, f, b, off, end, n_out);
}

/* onGap (postgres.ts). */
static void fp_pg_gap(fp_flow_t *f, int d) {
  if (d == 0) f->pg->batch_open = 0;
  else {
    f->pg->resp_len = 0;
    f->pg->resp_seq = -1;
  }
}

/* The flow's parser state, when it is opened as PostgreSQL: 0 when it cannot be had. */
static int fp_pg_open(fp_flow_t *f) {
  f->pg = calloc(1, sizeof(struct fp_pg));
  if (f->pg == NULL) return 0;
  f->pg->resp_seq = -1;
  return 1;
}

/* The parser state and the blocks of requests still queued (a flow freed without its end). */
static void fp_pg_free(fp_flow_t *f) {
  if (f->pg == NULL) return;
  for (int i = 0; i < f->pcount; i++) {
    fp_req_t *q = fp_pend_at(f, i);
    free(q->big);
    q->big = NULL;
  }
  for (int i = 0; i < f->pg->nstmts; i++) free(f->pg->stmts[i].sql);
  free(f->pg->stmts);
  free(f->pg);
  f->pg = NULL;
}
`;
