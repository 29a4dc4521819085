/**
 * HTTP/1.0 and 1.1: request line, headers (Host, Content-Length, Transfer-Encoding, Expect,
 * trace headers), bodies skipped without buffering (content-length and chunked), keep-alive and
 * pipelining (responses pair FIFO), 1xx interim responses (100-continue) not counted as the
 * answer, HEAD/204/304 without body, and close-delimited bodies.
 */
import { latin1, MAX_FIELD } from "../bytes.ts";
import {
  headerScanner,
  LINES,
  MAX_HEADER,
  OWN_CONNECTION,
  OWN_CONTENT_LENGTH,
  OWN_HOST,
  OWN_TRANSFER_ENCODING,
  QUERY,
  TARGET_END,
} from "../native/http1-lines.ts";
import { statusOfCode } from "../status.ts";
import { emptyTrace } from "../trace-context.ts";
import type { L7Parser, ParseContext, ProtocolSpec, TraceContext } from "../types.ts";

/**
 * Buffer's indexOf on any Uint8Array: a byte searched with memchr through a fast native call,
 * a few ns a line whatever its length (Uint8Array.prototype.indexOf compares byte by byte,
 * ~0.7 ns a byte on the bench machine).
 */
const indexOf = Buffer.prototype.indexOf as (this: Uint8Array, value: number, from: number) => number;

// Hot byte helpers kept module-local: calls across modules go through export bindings that
// V8 inlines less reliably, and these run for every header line.
function findCrlf(b: Uint8Array, s: number, e: number): number {
  for (let i = s; ; i++) {
    i = indexOf.call(b, 13, i);
    if (i < 0 || i + 1 >= e) return -1;
    if (b[i + 1] === 10) return i;
  }
}

function parseDec(b: Uint8Array, s: number, e: number): number {
  if (e <= s || e - s > 15) return -1;
  let n = 0;
  for (let i = s; i < e; i++) {
    const c = b[i]! - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

function startsWith(b: Uint8Array, o: number, e: number, ascii: string): boolean {
  if (o + ascii.length > e) return false;
  for (let i = 0; i < ascii.length; i++) if (b[o + i] !== ascii.charCodeAt(i)) return false;
  return true;
}

function sameAscii(b: Uint8Array, o: number, s: string): boolean {
  for (let i = 0; i < s.length; i++) if (b[o + i] !== s.charCodeAt(i)) return false;
  return true;
}

/** Case-insensitive compare of a header name at o with a lower-case name (length checked by the caller). */
function nameIs(b: Uint8Array, o: number, lc: string): boolean {
  for (let i = 0; i < lc.length; i++) {
    let c = b[o + i]!;
    if (c >= 65 && c <= 90) c |= 32;
    if (c !== lc.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * Whether the value at [s, e), cut to MAX_FIELD bytes as a string of it would be, holds the
 * lower-case token `lc` in any case: `latin1(...).toLowerCase().includes(lc)` without the two strings
 * (every response and keep-alive request has a Connection header). Latin-1 lower-casing makes
 * no ASCII letter from a non-ASCII byte, so folding A-Z alone is the same test.
 */
function hasFolded(b: Uint8Array, s: number, e: number, lc: string): boolean {
  if (e - s > MAX_FIELD) e = s + MAX_FIELD;
  for (let o = s; o + lc.length <= e; o++) if (nameIs(b, o, lc)) return true;
  return false;
}

const METHODS = ["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "CONNECT", "TRACE"];

/**
 * The first line's end, the values of Host, Content-Length, Transfer-Encoding and Connection,
 * and the other header lines of a message in one call (the C addon, or its JS version:
 * ../native/http1-lines.ts), instead of one native search per line; `POS` holds the positions
 * of the last scan.
 */
const scanner = headerScanner();
const scanBlock = scanner.scan;
const POS = scanner.out;

/** 1 at the first byte of a method (see METHODS). */
const METHOD_FIRST = new Uint8Array(256);
for (const m of METHODS) METHOD_FIRST[m.charCodeAt(0)] = 1;

function methodAt(b: Uint8Array, o: number, e: number): number {
  // Every method starts with one of a few capitals: most payloads are rejected on one byte. A
  // table, not a chain of comparisons: the first payload starting with a letter further down
  // the chain (D, H, O, C, T) met a comparison without feedback and deoptimized detect.
  if (o >= e || METHOD_FIRST[b[o]!] !== 1) return -1;
  for (let i = 0; i < METHODS.length; i++) {
    const m = METHODS[i]!;
    if (startsWith(b, o, e, m) && b[o + m.length] === 32) return i;
  }
  return -1;
}

function isResponseStart(b: Uint8Array, o: number, e: number): boolean {
  return startsWith(b, o, e, "HTTP/1.") && (e - o < 9 || b[o + 8] === 32);
}

/** Shared scratch trace: most requests carry none, so no object is made for them. */
const scratch = emptyTrace();

class Http1Parser implements L7Parser {
  private traced = false;
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

  /** Scratch header facts of the message being parsed (one parse at a time per parser). */
  private readonly h = { host: "", cl: -1, chunked: false, close: false };
  private lastHost = "";

  /**
   * The header block `scanBlock` just found (`n` lines besides the parser's own, or -1 when the
   * block is not complete yet, -2 when it is not a header block we accept): returns the index
   * after the blank line, or `n` when negative. The other lines go to the header policy when
   * their first byte can start a name it wants (requests only).
   */
  private headers(ctx: ParseContext, b: Uint8Array, n: number, trace: TraceContext | null): number {
    if (n < 0) return n;
    const out = this.h;
    const pos = POS;
    let vs = pos[OWN_HOST]!;
    if (vs < 0) out.host = "";
    else {
      // Keep-alive connections repeat their Host: reuse the string when the bytes match.
      const eol = pos[OWN_HOST + 1]!;
      const last = this.lastHost;
      if (last.length === eol - vs && sameAscii(b, vs, last)) out.host = last;
      else out.host = this.lastHost = latin1(b, vs, eol, 256);
    }
    vs = pos[OWN_CONTENT_LENGTH]!;
    out.cl = vs < 0 ? -1 : parseDec(b, vs, pos[OWN_CONTENT_LENGTH + 1]!);
    vs = pos[OWN_TRANSFER_ENCODING]!;
    out.chunked = vs >= 0 && hasFolded(b, vs, pos[OWN_TRANSFER_ENCODING + 1]!, "chunked");
    vs = pos[OWN_CONNECTION]!;
    out.close = vs >= 0 && hasFolded(b, vs, pos[OWN_CONNECTION + 1]!, "close");
    if (trace !== null) {
      const starts = ctx.headers.nameStarts;
      for (let k = LINES, last = LINES + 2 * n; k < last; k += 2) {
        const p = pos[k]!;
        if (starts[b[p]!] !== 0 && ctx.headers.offerLine(trace, b, p, pos[k + 1]!)) this.traced = true;
      }
    }
    return pos[1]!;
  }

  private request(ctx: ParseContext, b: Uint8Array, off: number, end: number): number {
    const m = methodAt(b, off, end);
    if (m < 0) return end - off >= 8 ? -1 : 0;
    const n = scanBlock(b, off, end);
    if (n === -3) return end - off > MAX_HEADER ? -1 : 0;
    const line = POS[0]!;
    this.traced = false;
    scratch.traceId = scratch.spanId = scratch.parentSpanId = scratch.xRequestId = "";
    const he = this.headers(ctx, b, n, scratch);
    if (he === -1) return 0;
    if (he < 0) return -1;
    // The method ends at the line's first space, as the scan took it.
    const t = off + METHODS[m]!.length + 1;
    const sp2 = POS[TARGET_END]!;
    const path = latin1(b, t, sp2, 1024);
    const version = versionAt(b, sp2 + 1, line);
    const h = this.h;
    const trace = this.traced ? { ...scratch } : undefined;
    const q = POS[QUERY]! - t;
    const endpoint = q >= 0 && q < path.length ? path.slice(0, q) : path;
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
    const n = scanBlock(b, off, end);
    if (n === -3) return end - off > MAX_HEADER ? -1 : 0;
    const line = POS[0]!;
    const code = parseDec(b, off + 9, off + 12);
    if (code < 100 || code > 999) return -1;
    const he = this.headers(ctx, b, n, null);
    if (he === -1) return 0;
    if (he < 0) return -1;
    // Interim answers (100 Continue, 103 Early Hints) are not the response.
    if (code < 200 && code !== 101) return he - off;
    const version = versionAt(b, off, off + 8);
    const h = this.h;
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

/** "HTTP/1.x" at [s, e) → "1.x" without allocating for the two real versions. */
function versionAt(b: Uint8Array, s: number, e: number): string {
  if (e - s === 8 && startsWith(b, s, e, "HTTP/1.")) {
    const minor = b[s + 7];
    if (minor === 49) return "1.1";
    if (minor === 48) return "1.0";
  }
  return e - s > 5 && startsWith(b, s, e, "HTTP/") ? latin1(b, s + 5, e, 8) : "1.0";
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

/**
 * Both kinds of first payload through detect before V8 optimizes it: a flow whose first payload
 * seen is a response (one under way when the capture began) came after the optimization on
 * web-1m, met a call without feedback and deoptimized detect (see flow/warm-up.ts for why).
 * 32 rounds: V8 keeps no feedback for a function's first calls (lazy feedback allocation).
 */
{
  const enc = new TextEncoder();
  const req = enc.encode("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  const resp = enc.encode("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  for (let i = 0; i < 32; i++) {
    http1.detect(req, 0, req.length, false, true);
    http1.detect(resp, 0, resp.length, false, true);
  }
}
