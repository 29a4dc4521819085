/**
 * HTTP/1.0 and 1.1: request line, headers (Host, Content-Length, Transfer-Encoding, Expect,
 * trace headers), bodies skipped without buffering (content-length and chunked), keep-alive and
 * pipelining (responses pair FIFO), 1xx interim responses (100-continue) not counted as the
 * answer, HEAD/204/304 without body, and close-delimited bodies.
 */
import { findCrlf, latin1, parseDec, startsWith } from "../bytes.ts";
import { statusOfCode } from "../status.ts";
import { emptyTrace } from "../trace-context.ts";
import type { L7Parser, ParseContext, ProtocolSpec } from "../types.ts";

const METHODS = ["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "CONNECT", "TRACE"];
/** Header block bigger than this is not HTTP we can use. */
const MAX_HEADER = 32 * 1024;
const MAX_HEADERS = 128;

function methodAt(b: Uint8Array, o: number, e: number): number {
  for (let i = 0; i < METHODS.length; i++) {
    const m = METHODS[i]!;
    if (startsWith(b, o, e, m) && b[o + m.length] === 32) return i;
  }
  return -1;
}

function isResponseStart(b: Uint8Array, o: number, e: number): boolean {
  return startsWith(b, o, e, "HTTP/1.") && (e - o < 9 || b[o + 8] === 32);
}

/** Finds the blank line ending a header block; returns the index after it, or -1. */
function headerEnd(b: Uint8Array, s: number, e: number): number {
  for (let i = s; i + 3 < e; i++) {
    if (b[i] === 13 && b[i + 1] === 10 && b[i + 2] === 13 && b[i + 3] === 10) return i + 4;
  }
  return -1;
}

function lower(s: string): string {
  return s.toLowerCase();
}

interface Body {
  /** -2 chunked, -3 until close, else content length. */
  len: number;
}

class Http1Parser implements L7Parser {
  /** Per direction: inside a chunked body (0 no, 1 expecting size line, 2 trailers). */
  private chunk = [0, 0];
  /** Per direction: the rest of the stream is a close-delimited body. */
  private toClose = [false, false];

  parse(ctx: ParseContext, dir: 0 | 1, b: Uint8Array, off: number, end: number): number {
    if (this.toClose[dir]) return end - off + 1_000_000_000;
    if (this.chunk[dir] !== 0) return this.chunked(dir, b, off, end);
    if (dir === 0) return this.request(ctx, b, off, end);
    return this.response(ctx, b, off, end);
  }

  onGap(dir: 0 | 1): void {
    this.chunk[dir] = 0;
    this.toClose[dir] = false;
  }

  private chunked(dir: 0 | 1, b: Uint8Array, off: number, end: number): number {
    const eol = findCrlf(b, off, end);
    if (eol < 0) return end - off > 1024 ? -1 : 0;
    if (this.chunk[dir] === 2) {
      // Trailer lines until the empty one.
      if (eol === off) this.chunk[dir] = 0;
      return eol + 2 - off;
    }
    let n = 0;
    let i = off;
    for (; i < eol; i++) {
      const c = b[i]!;
      const v = c >= 48 && c <= 57 ? c - 48 : (c | 32) >= 97 && (c | 32) <= 102 ? (c | 32) - 87 : -1;
      if (v < 0) break;
      n = n * 16 + v;
      if (n > 2 ** 40) return -1;
    }
    if (i === off) return -1;
    if (n === 0) {
      this.chunk[dir] = 2;
      return eol + 2 - off;
    }
    return eol + 2 - off + n + 2;
  }

  private headers(
    ctx: ParseContext,
    b: Uint8Array,
    s: number,
    e: number,
    out: { host: string; cl: number; chunked: boolean; cont: boolean; close: boolean; grpc: boolean },
    trace: ReturnType<typeof emptyTrace> | null,
  ): boolean {
    let p = s;
    let count = 0;
    while (p < e) {
      const eol = findCrlf(b, p, e);
      if (eol < 0 || eol === p) break;
      if (++count > MAX_HEADERS) return false;
      let colon = p;
      while (colon < eol && b[colon] !== 58) colon++;
      if (colon < eol) {
        const nl = colon - p;
        let vs = colon + 1;
        while (vs < eol && (b[vs] === 32 || b[vs] === 9)) vs++;
        const c0 = b[p]! | 32;
        // Only a few headers matter: look at the name before building strings.
        if (nl === 4 && c0 === 104) {
          out.host = latin1(b, vs, eol, 256);
        } else if (nl === 14 && c0 === 99 && lower(latin1(b, p, colon)) === "content-length") {
          out.cl = parseDec(b, vs, eol);
        } else if (nl === 17 && c0 === 116 && lower(latin1(b, p, colon)) === "transfer-encoding") {
          out.chunked = lower(latin1(b, vs, eol)).includes("chunked");
        } else if (nl === 6 && c0 === 101 && lower(latin1(b, p, colon)) === "expect") {
          out.cont = true;
        } else if (nl === 10 && c0 === 99 && lower(latin1(b, p, colon)) === "connection") {
          out.close = lower(latin1(b, vs, eol)).includes("close");
        } else if (trace !== null && nl <= 64) {
          ctx.headers.offer(trace, lower(latin1(b, p, colon)), latin1(b, vs, eol, 256));
        }
      }
      p = eol + 2;
    }
    return true;
  }

  private request(ctx: ParseContext, b: Uint8Array, off: number, end: number): number {
    const m = methodAt(b, off, end);
    if (m < 0) return end - off >= 8 ? -1 : 0;
    const he = headerEnd(b, off, end);
    if (he < 0) return end - off > MAX_HEADER ? -1 : 0;
    const line = findCrlf(b, off, he);
    const sp1 = off + METHODS[m]!.length;
    let sp2 = sp1 + 1;
    while (sp2 < line && b[sp2] !== 32) sp2++;
    const path = latin1(b, sp1 + 1, sp2, 1024);
    const version =
      sp2 + 6 < line && startsWith(b, sp2 + 1, line, "HTTP/") ? latin1(b, sp2 + 6, line, 8) : "1.0";
    const h = { host: "", cl: -1, chunked: false, cont: false, close: false, grpc: false };
    const trace = emptyTrace();
    if (!this.headers(ctx, b, line + 2, he, h, trace)) return -1;
    const q = path.indexOf("?");
    const endpoint = q >= 0 ? path.slice(0, q) : path;
    let bodyLen = 0;
    if (h.chunked) this.chunk[0] = 1;
    else if (h.cl > 0) bodyLen = h.cl;
    ctx.request({
      version,
      type: METHODS[m],
      domain: h.host,
      resource: path,
      endpoint,
      length: he - off + bodyLen,
      trace,
    });
    return he - off + bodyLen;
  }

  private response(ctx: ParseContext, b: Uint8Array, off: number, end: number): number {
    if (!isResponseStart(b, off, end)) return end - off >= 9 ? -1 : 0;
    const he = headerEnd(b, off, end);
    if (he < 0) return end - off > MAX_HEADER ? -1 : 0;
    const line = findCrlf(b, off, he);
    const code = parseDec(b, off + 9, off + 12);
    if (code < 100 || code > 999) return -1;
    const version = latin1(b, off + 5, off + 8);
    const h = { host: "", cl: -1, chunked: false, cont: false, close: false, grpc: false };
    if (!this.headers(ctx, b, line + 2, he, h, null)) return -1;
    // Interim answers (100 Continue, 103 Early Hints) are not the response.
    if (code < 200 && code !== 101) return he - off;
    const reqType = ctx.oldestPendingType();
    let bodyLen = 0;
    if (reqType === "HEAD" || code === 204 || code === 304) bodyLen = 0;
    else if (h.chunked) this.chunk[1] = 1;
    else if (h.cl >= 0) bodyLen = h.cl;
    else if (code !== 101) this.toClose[1] = true;
    ctx.response({
      version,
      status: statusOfCode(code),
      code,
      exception: code >= 400 ? latin1(b, off + 13, line, 128) : "",
      length: he - off + bodyLen,
    });
    if (code === 101) this.toClose[0] = this.toClose[1] = true;
    return he - off + bodyLen;
  }
}

export const http1: ProtocolSpec = {
  name: "http",
  ports: [80, 8080, 8000, 8008, 8081, 8888, 3000, 5000, 9000],
  transport: "tcp",
  detect(b, off, end) {
    if (methodAt(b, off, end) >= 0) {
      // Method, space, then a path or absolute URI on a line ending in HTTP/1.x.
      const eol = findCrlf(b, off, Math.min(end, off + 8192));
      if (eol < 0) return end - off > 8192 ? 0 : 1;
      return startsWith(b, eol - 8, eol, "HTTP/1.") ? 1 : 0;
    }
    return isResponseStart(b, off, end) && end - off >= 12 ? 2 : 0;
  },
  create: () => new Http1Parser(),
};

export type { Body };
