/**
 * The C of the native row path for DNS over UDP: a port of ../protocols/dns.ts (the message,
 * its question's name and type, the rcode) and of what the processor does with it (pairing on
 * the transaction id, a full queue's oldest reported unknown, orphan responses, the row, the
 * application metrics), with the same results as the JS path (test/l7/dns-native-diff.test.ts).
 * Compiled after HTTP1_ROWS_C, whose flows, pending queue, timeouts, output and metrics it
 * shares: a flow opened with kind FP_KIND_DNS gets its datagrams here. DNS over TCP stays in JS.
 */
export const DNS_ROWS_C = String.raw`
/* readName (dns.ts): the name's latin1 bytes, every label followed by '.', whole labels while
   the name is under 255 bytes (at most 254 + 63 + 1), into dst; *after: the offset after the
   name in the message. 0 for a malformed name. */
static int fp_dns_name(const uint8_t *b, int32_t base, int32_t o, int32_t end, uint8_t *dst, int *dlen,
                       int32_t *after_out) {
  int n = 0, jumps = 0;
  int32_t after = -1;
  while (o < end) {
    int l = b[o];
    if (l == 0) {
      if (after < 0) after = o + 1;
      *dlen = n;
      *after_out = after;
      return 1;
    }
    if ((l & 0xc0) == 0xc0) {
      if (o + 1 >= end || ++jumps > 16) return 0;
      if (after < 0) after = o + 2;
      o = base + (((l & 0x3f) << 8) | b[o + 1]);
      continue;
    }
    if (l > 63 || o + 1 + l > end) return 0;
    if (n < 255) {
      memcpy(dst + n, b + o + 1, (size_t)l);
      n += l;
      dst[n++] = '.';
    }
    o += 1 + l;
  }
  return 0;
}

/* QTYPES (dns.ts), else the number in decimal. */
static int fp_dns_type(int t, uint8_t *dst) {
  const char *s = NULL;
  switch (t) {
    case 1: s = "A"; break;
    case 2: s = "NS"; break;
    case 5: s = "CNAME"; break;
    case 6: s = "SOA"; break;
    case 12: s = "PTR"; break;
    case 15: s = "MX"; break;
    case 16: s = "TXT"; break;
    case 28: s = "AAAA"; break;
    case 33: s = "SRV"; break;
    case 35: s = "NAPTR"; break;
    case 41: s = "OPT"; break;
    case 43: s = "DS"; break;
    case 46: s = "RRSIG"; break;
    case 47: s = "NSEC"; break;
    case 48: s = "DNSKEY"; break;
    case 64: s = "SVCB"; break;
    case 65: s = "HTTPS"; break;
    case 99: s = "SPF"; break;
    case 252: s = "AXFR"; break;
    case 255: s = "ANY"; break;
    case 257: s = "CAA"; break;
    default: break;
  }
  if (s != NULL) {
    size_t n = strlen(s);
    memcpy(dst, s, n);
    return (int)n;
  }
  return (int)(fp_w_i64(dst, t) - dst);
}

struct fp_dns_resp {
  int status, code;
  int64_t length;
  const uint8_t *name, *type;
  int name_len, type_len;
  const char *exc;
};
typedef struct fp_dns_resp fp_dns_resp_t;

/* processor.emit() of a DNS row: request fields from the request, else from the response's
   question; no version, no trace context, TCP sequences 0 (UDP). */
static void fp_emit_dns(fp_l7_t *s, fp_flow_t *f, const fp_req_t *q, int64_t qts, const fp_dns_resp_t *r, int64_t rts,
                        int status) {
  int64_t start, end, dur;
  fp_row_times(q != NULL, qts, r != NULL, rts, status, &start, &end, &dur);
  const uint8_t *name = q ? q->path : r->name;
  int nlen = q ? q->path_len : r->name_len;
  const uint8_t *type = q ? q->dtype : r->type;
  int tlen = q ? q->dtype_len : r->type_len;
  int64_t reqlen = q ? q->length : 0;
  uint8_t *o = fp_row_head(s, f, start, end);
  if (o == NULL) return;
  FP_W_LIT(o, "\"\",\"request_type\":");
  o = fp_w_jstr(o, type, (size_t)tlen);
  FP_W_LIT(o, ",\"request_domain\":");
  o = fp_w_jstr(o, name, (size_t)nlen);
  FP_W_LIT(o, ",\"request_resource\":");
  o = fp_w_jstr(o, name, (size_t)nlen);
  FP_W_LIT(o, ",\"endpoint\":");
  o = fp_w_jstr(o, name, (size_t)nlen);
  FP_W_LIT(o, ",\"request_length\":");
  o = fp_w_i64(o, reqlen);
  o = fp_w_response(o, r ? r->length : 0, status, r ? r->code : 0);
  FP_W_LIT(o, ",\"response_exception\":\"");
  if (r && r->exc) {
    size_t n = strlen(r->exc);
    memcpy(o, r->exc, n);
    o += n;
  }
  FP_W_LIT(o, "\",\"response_duration_us\":");
  o = fp_w_i64(o, dur);
  FP_W_LIT(o, ",\"trace_id\":\"\",\"span_id\":\"\",\"parent_span_id\":\"\",\"x_request_id\":\"\"");
  /* app-metrics.ts's hasReq: a request type, resource or length on the row. */
  fp_row_end(s, f, o, 0, 0, end, status, name, (size_t)nlen, tlen > 0 || nlen > 0 || reqlen > 0, dur);
}

/* One UDP datagram of a DNS flow at b[o..end): DnsParser.parse + processor.request/response. */
static void fp_dns_datagram(fp_l7_t *s, fp_flow_t *f, const uint8_t *b, int32_t o, int32_t end, int64_t ts) {
  if (f->failed) return;
  f->last_ts = ts;
  s->cur_ts = ts;
  int32_t len = end - o;
  if (len < 12) {
    fp_error(s, f);
    return;
  }
  int id = (b[o] << 8) | b[o + 1];
  int flags = (b[o + 2] << 8) | b[o + 3];
  int qd = (b[o + 4] << 8) | b[o + 5];
  uint8_t name[320], type[8];
  int nlen = 0, tlen = 0;
  if (qd > 0) {
    int32_t after = 0;
    if (!fp_dns_name(b, o, o + 12, end, name, &nlen, &after)) {
      fp_error(s, f);
      return;
    }
    if (nlen > 0 && name[nlen - 1] == '.') nlen--;
    if (after + 4 <= end) tlen = fp_dns_type((b[after] << 8) | b[after + 1], type);
  }
  if ((flags & 0x8000) == 0) {
    fp_req_t *q = fp_pend_add(s, f);
    if (q != NULL) {
      q->ts = ts;
      q->seq = 0;
      q->key = id;
      memcpy(q->path, name, (size_t)nlen);
      q->path_len = nlen;
      memcpy(q->dtype, type, (size_t)tlen);
      q->dtype_len = tlen;
      q->length = len;
    }
    fp_list(s, f);
    return;
  }
  int rcode = flags & 15;
  fp_dns_resp_t r;
  r.code = rcode;
  /* FORMERR, NXDOMAIN, NOTIMP... are the client's; SERVFAIL and REFUSED the server's. */
  r.status = rcode == 0 ? FP_OK : rcode == 2 || rcode == 5 ? FP_SERVER_ERROR : FP_CLIENT_ERROR;
  r.exc = rcode == 3 ? "NXDOMAIN" : rcode == 2 ? "SERVFAIL" : rcode == 5 ? "REFUSED" : NULL;
  r.length = len;
  r.name = name;
  r.name_len = nlen;
  r.type = type;
  r.type_len = tlen;
  for (int i = 0; i < f->pcount; i++) {
    fp_req_t *q = fp_pend_at(f, i);
    if (q->key != id) continue;
    fp_emit_dns(s, f, q, q->ts, &r, ts, r.status);
    if (i == 0) fp_pend_shift(f);
    else {
      /* splice(i, 1): the later ones move up */
      for (int j = i; j + 1 < f->pcount; j++) memcpy(fp_pend_at(f, j), fp_pend_at(f, j + 1), sizeof(fp_req_t));
      f->pcount--;
    }
    return;
  }
  s->st[S_ORPHANS]++;
  fp_emit_dns(s, f, NULL, ts, &r, ts, r.status);
}
`;
