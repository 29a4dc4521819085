/**
 * PostgreSQL frontend/backend protocol v3: SSLRequest, StartupMessage (user, database; the
 * password and SASL messages are never read), simple query ('Q') and extended query (Parse /
 * Bind / Execute up to Sync). A request is answered at ReadyForQuery ('Z') with the outcome of
 * what came before it: the last CommandComplete tag, or the ErrorResponse SQLSTATE and message.
 */
import { i32, latin1, utf8 } from "../bytes.ts";
import { normalizeSql } from "../sql-normalize.ts";
import type { L7Parser, ParseContext, ProtocolSpec, ResponseStatus } from "../types.ts";

const SSL_REQUEST = 80877103;
const GSS_REQUEST = 80877104;
const CANCEL = 80877102;
const V3 = 196608;
const MAX_MSG = 1 << 30;

function cstr(b: Uint8Array, s: number, e: number): number {
  while (s < e && b[s] !== 0) s++;
  return s;
}

class PgParser implements L7Parser {
  private started = false;
  private sslAsked = false;
  private db = "";
  /** Extended-query batch since the last Sync. */
  private batchSql = "";
  private batchType = "";
  private batchLen = 0;
  private batchSeq = 0;
  private batchTs = 0;
  private batchOpen = false;
  private readonly stmts = new Map<string, string>();
  private outstanding = 0;
  private tag = "";
  private errCode = "";
  private errMsg = "";
  private errSeverity = "";
  private respLen = 0;
  private respSeq = -1;
  private respTs = 0;
  private inLogin = false;
  private encrypted = false;

  parse(ctx: ParseContext, dir: 0 | 1, b: Uint8Array, off: number, end: number): number {
    if (this.encrypted) return end - off + 1_000_000_000;
    return dir === 0 ? this.front(ctx, b, off, end) : this.back(ctx, b, off, end);
  }

  private front(ctx: ParseContext, b: Uint8Array, off: number, end: number): number {
    if (end - off < 5) return 0;
    if (!this.started) {
      const len = i32(b, off);
      if (len < 8 || len > 10000) return -1;
      if (end - off < len) return 0;
      const code = i32(b, off + 4);
      if (code === SSL_REQUEST || code === GSS_REQUEST) {
        this.sslAsked = true;
        return 8;
      }
      if (code === CANCEL) {
        ctx.request({ oneWay: true, type: "CancelRequest", length: len });
        return len;
      }
      if (code !== V3) return -1;
      // key\0value\0 ... \0
      let p = off + 8;
      let user = "";
      while (p < off + len - 1) {
        const ke = cstr(b, p, off + len);
        const ve = cstr(b, ke + 1, off + len);
        const k = latin1(b, p, ke, 32);
        if (k === "database") this.db = latin1(b, ke + 1, ve, 64);
        else if (k === "user") user = latin1(b, ke + 1, ve, 64);
        p = ve + 1;
      }
      if (!this.db) this.db = user;
      this.started = true;
      this.inLogin = true;
      this.open(ctx);
      ctx.request({
        version: "3.0",
        type: "Startup",
        domain: this.db,
        resource: user ? `user ${user}` : "",
        length: len,
      });
      return len;
    }
    const t = b[off]!;
    const len = i32(b, off + 1);
    if (len < 4 || len > MAX_MSG) return -1;
    const total = 1 + len;
    switch (t) {
      case 81: {
        // 'Q' simple query
        if (end - off < total && total <= 64 * 1024) return 0;
        const sql = normalizeSql(utf8(b, off + 5, Math.min(end, off + total - 1), 4096), "postgresql").slice(
          0,
          1024,
        );
        this.open(ctx);
        ctx.request({
          version: "3.0",
          type: "Query",
          domain: this.db,
          resource: sql,
          endpoint: sql.slice(0, 128),
          length: len,
        });
        return total;
      }
      case 80: {
        // 'P' Parse: name\0 query\0
        if (end - off < total && total <= 64 * 1024) return 0;
        const e = Math.min(end, off + total);
        const ne = cstr(b, off + 5, e);
        const qe = cstr(b, ne + 1, e);
        const sql = normalizeSql(utf8(b, ne + 1, qe, 4096), "postgresql").slice(0, 1024);
        const name = latin1(b, off + 5, ne, 64);
        if (name && this.stmts.size < 256) this.stmts.set(name, sql);
        this.batch(ctx, "Parse", sql, len);
        return total;
      }
      case 66: {
        // 'B' Bind: portal\0 statement\0 ...
        if (end - off < total && total <= 64 * 1024) return 0;
        const e = Math.min(end, off + total);
        const pe = cstr(b, off + 5, e);
        const se = cstr(b, pe + 1, e);
        const st = latin1(b, pe + 1, se, 64);
        this.batch(ctx, "Bind", st ? (this.stmts.get(st) ?? "") : "", len);
        return total;
      }
      case 69: // 'E' Execute
        this.batch(ctx, "Execute", "", len);
        return total;
      case 83: {
        // 'S' Sync: the batch becomes one request, answered at ReadyForQuery.
        if (this.batchOpen) {
          this.batchOpen = false;
          this.open(ctx);
          ctx.request({
            version: "3.0",
            type: this.batchType,
            domain: this.db,
            resource: this.batchSql,
            endpoint: this.batchSql.slice(0, 128),
            length: this.batchLen + len,
            ts: this.batchTs,
            seq: this.batchSeq,
          });
        }
        return total;
      }
      case 88: // 'X' Terminate
        ctx.request({ oneWay: true, version: "3.0", type: "Terminate", domain: this.db, length: len });
        return total;
      case 112: // 'p' password / SASL: never read
      case 68: // Describe
      case 67: // Close
      case 72: // Flush
      case 70: // FunctionCall
      case 100: // CopyData
      case 99: // CopyDone
      case 102: // CopyFail
        return total;
      default:
        return -1;
    }
  }

  private batch(ctx: ParseContext, type: string, sql: string, len: number): void {
    if (!this.batchOpen) {
      this.batchOpen = true;
      this.batchType = "Execute";
      this.batchSql = "";
      this.batchLen = 0;
      this.batchTs = ctx.ts;
      this.batchSeq = ctx.seq;
    }
    if (sql && !this.batchSql) this.batchSql = sql;
    if (type === "Parse" && !this.batchSql) this.batchType = "Execute";
    this.batchLen += len + 1;
  }

  private open(ctx: ParseContext): void {
    void ctx;
    this.outstanding++;
  }

  private back(ctx: ParseContext, b: Uint8Array, off: number, end: number): number {
    if (this.sslAsked && !this.started) {
      // One-byte answer to SSLRequest: 'S' means TLS follows (nothing more to read), 'N' plain.
      this.sslAsked = false;
      if (b[off] === 83) this.encrypted = true;
      return 1;
    }
    if (end - off < 5) return 0;
    const t = b[off]!;
    const len = i32(b, off + 1);
    if (len < 4 || len > MAX_MSG) return -1;
    const total = 1 + len;
    if (this.respSeq === -1) {
      this.respSeq = ctx.seq;
      this.respTs = ctx.ts;
    }
    this.respLen += total;
    switch (t) {
      case 67: {
        // 'C' CommandComplete
        if (end - off < total && total <= 4096) return 0;
        this.tag = latin1(b, off + 5, cstr(b, off + 5, Math.min(end, off + total)), 64);
        return total;
      }
      case 69: {
        // 'E' ErrorResponse: fields (type byte, cstring)*
        if (end - off < total && total <= 16 * 1024) return 0;
        const e = Math.min(end, off + total);
        let p = off + 5;
        while (p < e && b[p] !== 0) {
          const ft = b[p]!;
          const ve = cstr(b, p + 1, e);
          if (ft === 67) this.errCode = latin1(b, p + 1, ve, 5);
          else if (ft === 77) this.errMsg = utf8(b, p + 1, ve, 256);
          else if (ft === 86 || (ft === 83 && !this.errSeverity)) this.errSeverity = latin1(b, p + 1, ve, 16);
          p = ve + 1;
        }
        if (this.inLogin && (this.errSeverity === "FATAL" || this.errSeverity === "PANIC")) this.answer(ctx);
        return total;
      }
      case 90: // 'Z' ReadyForQuery
        this.inLogin = false;
        this.answer(ctx);
        return total;
      case 82:
      case 83:
      case 75:
      case 84:
      case 68:
      case 73:
      case 78:
      case 49:
      case 50:
      case 51:
      case 110:
      case 115:
      case 116:
      case 65:
      case 71:
      case 72:
      case 87:
      case 99:
      case 100:
      case 118:
        return total;
      default:
        return -1;
    }
  }

  private answer(ctx: ParseContext): void {
    if (this.outstanding > 0) {
      this.outstanding--;
      const err = this.errCode !== "";
      // SQLSTATE class 08 (connection), 53 (resources), 57 (operator), 58 (system), XX: server.
      const cls = this.errCode.slice(0, 2);
      const status: ResponseStatus = !err
        ? "ok"
        : ["08", "53", "57", "58", "XX"].includes(cls)
          ? "server_error"
          : "client_error";
      ctx.response({
        status,
        code: 0,
        exception: err ? `${this.errCode} ${this.errMsg}`.slice(0, 256) : "",
        endpoint: undefined,
        length: this.respLen,
        ts: this.respTs,
        seq: this.respSeq,
        version: "3.0",
        ...(this.tag && !err ? { type: undefined } : {}),
      });
    }
    this.tag = "";
    this.errCode = "";
    this.errMsg = "";
    this.errSeverity = "";
    this.respLen = 0;
    this.respSeq = -1;
  }

  onGap(dir: 0 | 1): void {
    if (dir === 0) this.batchOpen = false;
    else {
      this.respLen = 0;
      this.respSeq = -1;
    }
  }
}

export const postgresql: ProtocolSpec = {
  name: "postgresql",
  ports: [5432, 5433, 6432, 26257],
  transport: "tcp",
  detect(b, off, end) {
    if (end - off < 8) return 0;
    const len = i32(b, off);
    const code = i32(b, off + 4);
    if (len === 8 && (code === SSL_REQUEST || code === GSS_REQUEST) && end - off === 8) return 1;
    if (code === V3 && len >= 8 && len <= 10000 && len === end - off) return 1;
    // Mid-stream: a simple query whose length matches the segment and ends in NUL.
    if (b[off] === 81 && 1 + i32(b, off + 1) === end - off && b[end - 1] === 0) return 1;
    // Server side mid-stream: AuthenticationOk / ReadyForQuery shapes.
    if (b[off] === 82 && i32(b, off + 1) === 8 && end - off >= 9) return 2;
    return 0;
  },
  create: () => new PgParser(),
};
