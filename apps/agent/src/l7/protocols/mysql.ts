/**
 * MySQL client/server protocol: server greeting (version), login (database; the password
 * hash is never read), commands (COM_QUERY with normalised SQL, COM_INIT_DB, ...), and the
 * first packet of each answer: OK, ERR (error code and message), EOF or a result set. Packets
 * after the first of an answer (columns, rows) are skipped by length.
 */
import { latin1, u16le, u24le, utf8 } from "../bytes.ts";
import { normalizeSql } from "../sql-normalize.ts";
import type { L7Parser, ParseContext, ProtocolSpec, ResponseStatus } from "../types.ts";

export const MYSQL_COMMANDS: Record<number, string> = {
  1: "Quit",
  2: "Use Database",
  3: "Query",
  4: "Show Fields",
  5: "Create Database",
  6: "Drop Database",
  7: "Refresh",
  8: "Shutdown",
  9: "Statistics",
  10: "Process Info",
  12: "Kill",
  13: "Debug",
  14: "Ping",
  17: "Change User",
  22: "Prepare Statement",
  23: "Execute Statement",
  24: "Send BLOB",
  25: "Close Statement",
  26: "Reset Statement",
  27: "Set Option",
  28: "Fetch Data",
  31: "Reset Connection",
};
/** Commands that get no answer. */
const NO_REPLY = new Set([1, 24, 25]);
/** Errors caused by the server's state rather than the statement. */
const SERVER_ERRORS = new Set([1037, 1038, 1040, 1041, 1053, 1205, 1213, 1317, 2006, 2013]);

/** The byte at i of a packet ending at e (what is here of it), or 0 past it. */
function byteAt(b: Uint8Array, i: number, e: number): number {
  return i < e ? b[i]! : 0;
}

class MysqlParser implements L7Parser {
  private greeted = false;
  private loggedIn = false;
  private waiting = false;
  private db = "";
  private serverVersion = "";

  parse(ctx: ParseContext, dir: 0 | 1, b: Uint8Array, off: number, end: number): number {
    if (end - off < 4) return 0;
    const len = u24le(b, off);
    const seq = b[off + 3]!;
    const total = 4 + len;
    const p = off + 4;
    // Every reading below is of this packet's bytes: a header alone in its segment waits for the
    // first byte of its payload (past `end` lie other bytes, an ERR would pass for an OK).
    if (len > 0 && end - off < 5) return 0;
    const pe = Math.min(end, off + total);
    if (dir === 1) {
      if (!this.greeted && seq === 0 && b[p] === 10) {
        if (end < off + total && total < 1024) return 0;
        let e = p + 1;
        while (e < pe && e < p + 64 && b[e] !== 0) e++;
        this.serverVersion = latin1(b, p + 1, e, 64);
        this.greeted = true;
        return total;
      }
      if (!this.waiting || len === 0) return total;
      this.waiting = false;
      const first = b[p]!;
      let status: ResponseStatus = "ok";
      let code = 0;
      let exception = "";
      if (first === 0xff) {
        if (end < off + total && total <= 4096) return 0;
        code = pe - p >= 3 ? u16le(b, p + 1) : 0;
        const msgAt = byteAt(b, p + 3, pe) === 35 ? p + 9 : p + 3;
        exception = utf8(b, msgAt, pe, 256);
        status = SERVER_ERRORS.has(code) ? "server_error" : "client_error";
      }
      ctx.response({ version: this.serverVersion, status, code, exception, length: len });
      return total;
    }
    // Client side.
    if (seq === 1 && !this.loggedIn && this.greeted) {
      // HandshakeResponse41: caps(4) maxpkt(4) charset(1) filler(23) user\0 auth db\0
      if (end < off + total && total < 4096) return 0;
      this.loggedIn = true;
      const e = Math.min(end, off + total);
      let q = p + 32;
      while (q < e && b[q] !== 0) q++;
      const user = latin1(b, p + 32, q, 64);
      q++;
      const caps =
        byteAt(b, p, pe) |
        (byteAt(b, p + 1, pe) << 8) |
        (byteAt(b, p + 2, pe) << 16) |
        (byteAt(b, p + 3, pe) << 24);
      let alen = 0;
      // A length-prefixed auth response (CLIENT_PLUGIN_AUTH_LENENC_DATA, CLIENT_SECURE_CONNECTION).
      if (caps & 0x00208000) {
        alen = byteAt(b, q, pe);
        q += 1;
      } else {
        while (q < e && b[q] !== 0) q++;
      }
      q += alen;
      if (caps & 0x8 && q < e) {
        let z = q;
        while (z < e && b[z] !== 0) z++;
        this.db = latin1(b, q, z, 64);
      }
      this.waiting = true;
      ctx.request({
        version: this.serverVersion,
        type: "Login",
        domain: this.db,
        resource: user ? `user ${user}` : "",
        length: len,
      });
      return total;
    }
    if (seq !== 0 || len === 0) return total;
    const cmd = b[p]!;
    const name = MYSQL_COMMANDS[cmd];
    if (name === undefined) return -1;
    // Wait for the whole statement when it is small enough to keep.
    if (end < off + total && total <= 16 * 1024) return 0;
    let resource = "";
    let endpoint = "";
    const e = Math.min(end, off + total);
    if (cmd === 3 || cmd === 22) {
      resource = normalizeSql(utf8(b, p + 1, e, 4096), "mysql").slice(0, 1024);
      endpoint = resource.slice(0, 128);
    } else if (cmd === 2) {
      this.db = latin1(b, p + 1, e, 64);
      resource = this.db;
    } else if (cmd === 4) {
      let z = p + 1;
      while (z < e && b[z] !== 0) z++;
      resource = latin1(b, p + 1, z, 128);
    }
    const oneWay = NO_REPLY.has(cmd);
    this.waiting = !oneWay;
    ctx.request({
      oneWay,
      version: this.serverVersion,
      type: name,
      domain: this.db,
      resource,
      endpoint,
      length: len,
    });
    return total;
  }

  onGap(dir: 0 | 1): void {
    if (dir === 1) this.waiting = false;
  }
}

export const mysql: ProtocolSpec = {
  name: "mysql",
  ports: [3306, 3307, 33060, 4000],
  transport: "tcp",
  detect(b, off, end) {
    if (end - off < 6) return 0;
    const len = u24le(b, off);
    const seq = b[off + 3]!;
    const p = off + 4;
    if (seq === 0 && b[p] === 10 && len >= 30 && len < 512) {
      // Greeting: protocol 10, NUL-terminated printable version starting with a digit.
      const c = b[p + 1]!;
      if (c < 48 || c > 57) return 0;
      for (let i = p + 1; i < end && i < p + 64; i++) {
        if (b[i] === 0) return 2;
        if (b[i]! < 32 || b[i]! > 126) return 0;
      }
      return 0;
    }
    if (seq === 0 && (b[p] === 3 || b[p] === 22) && len >= 2 && 4 + len === end - off) {
      for (let i = p + 1; i < end && i < p + 32; i++) if (b[i]! < 9 || (b[i]! > 13 && b[i]! < 32)) return 0;
      const w = latin1(b, p + 1, Math.min(end, p + 10))
        .trimStart()
        .slice(0, 4)
        .toUpperCase();
      return [
        "SELE",
        "INSE",
        "UPDA",
        "DELE",
        "SET ",
        "SHOW",
        "BEGI",
        "COMM",
        "CREA",
        "DROP",
        "USE ",
        "CALL",
        "ALTE",
        "REPL",
        "SELECT".slice(0, 4),
      ].includes(w)
        ? 1
        : 0;
    }
    return 0;
  },
  create: () => new MysqlParser(),
};
