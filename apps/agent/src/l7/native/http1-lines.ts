/**
 * The HTTP/1 header block scanner (C in ./http1-lines-c.ts): one native call per message finds
 * the request/status line's end, the values of the parser's own headers and every other header
 * line, where the parser made one Buffer#indexOf call per line. Compiled lazily by
 * @flowplane/core/native-addon (per-user private build directory, one-line reason when
 * unavailable). The source is written into that directory first rather than read from a .c file
 * beside this module, which an esbuild bundle (what worker threads run) would not carry. Without
 * a compiler or with FLOWPLANE_HTTP1_NATIVE=0 the JS version below does the same; it is the
 * specification the C follows (test/l7/http1-lines.test.ts).
 */
import { pathToFileURL } from "node:url";
import { buildAddon } from "@flowplane/core/native-addon";
import { HTTP1_LINES_C } from "./http1-lines-c.ts";
import { privateSourceFile } from "./source-file.ts";

/** Header block bigger than this is not HTTP we can use. */
export const MAX_HEADER = 32 * 1024;
export const MAX_HEADERS = 128;
/** Where the value spans of the parser's own headers start in `out` (2 ints each). */
export const OWN_HOST = 2;
export const OWN_CONTENT_LENGTH = 4;
export const OWN_TRANSFER_ENCODING = 6;
export const OWN_CONNECTION = 8;
/** Requests: where the target ends (the first space after the first, or the line end), and its first "?" or -1. */
export const TARGET_END = 10;
export const QUERY = 11;
/** Where the other lines' positions start in `out`. */
export const LINES = 12;
export const OUT_LEN = LINES + 2 * MAX_HEADERS;

/**
 * scan(b, off, end) → -3 no CR LF in [off, end) (the first line is not complete); otherwise
 * out[0] = the CR of the first CR LF, out[TARGET_END] and out[QUERY] (the line's first space taken
 * for the method's end) and, for the lines after it: -1 no blank line yet (block
 * at most MAX_HEADER bytes), -2 over MAX_HEADERS lines or no blank line in over MAX_HEADER
 * bytes, n ≥ 0: out[1] = the index after the blank line; at OWN_HOST, OWN_CONTENT_LENGTH,
 * OWN_TRANSFER_ENCODING and OWN_CONNECTION the value (after the colon and spaces or tabs, to
 * the line end) of the last such header, -1 -1 when none (Host: any 4-byte name starting with
 * h or H; names in either case); and the n other lines' start and end (before CR LF or a bare
 * LF) from out[LINES], 2 ints a line. A line is the parser's own header when its name is
 * followed by the colon at once: the same header the line's first colon would name, since
 * these names hold no colon.
 */
export interface HeaderScanner {
  scan(b: Uint8Array, off: number, end: number): number;
  /** Written by every scan of this thread. */
  out: Int32Array;
  /** "native", or why the JS version runs. */
  kind: string;
}

interface Http1LinesAddon {
  buffer(): Int32Array;
  scan(b: Uint8Array, off: number, end: number): number;
}

const indexOf = Buffer.prototype.indexOf as (this: Uint8Array, value: number, from: number) => number;

/** Case-insensitive compare of a header name at o with a lower-case name (A-Z folded). */
function nameIs(b: Uint8Array, o: number, lc: string): boolean {
  for (let i = 0; i < lc.length; i++) {
    let c = b[o + i]!;
    if (c >= 65 && c <= 90) c |= 32;
    if (c !== lc.charCodeAt(i)) return false;
  }
  return true;
}

/** The slot in `out` of the parser's own header the line [p, eol) is, or -1. */
function ownSlot(b: Uint8Array, p: number, eol: number): number {
  const c0 = b[p]!;
  if (c0 === 104 || c0 === 72) {
    if (p + 4 < eol && b[p + 4] === 58 && b[p + 1] !== 58 && b[p + 2] !== 58 && b[p + 3] !== 58)
      return OWN_HOST;
  } else if (c0 === 99 || c0 === 67) {
    if (p + 14 < eol && b[p + 14] === 58 && nameIs(b, p, "content-length")) return OWN_CONTENT_LENGTH;
    if (p + 10 < eol && b[p + 10] === 58 && nameIs(b, p, "connection")) return OWN_CONNECTION;
  } else if (c0 === 116 || c0 === 84) {
    if (p + 17 < eol && b[p + 17] === 58 && nameIs(b, p, "transfer-encoding")) return OWN_TRANSFER_ENCODING;
  }
  return -1;
}

/** Name length (colon offset) of each own-header slot. */
const NAME_LEN = [0, 0, 4, 0, 14, 0, 17, 0, 10];

/** The JS version of the C scan, writing into `out`. */
export function scanHeaderBlockJs(b: Uint8Array, off: number, e: number, out: Int32Array): number {
  let line = -1;
  for (let i = off; ; i++) {
    i = indexOf.call(b, 13, i);
    if (i < 0 || i + 1 >= e) break;
    if (b[i + 1] === 10) {
      line = i;
      break;
    }
  }
  if (line < 0) return -3;
  out[0] = line;
  let t = off;
  while (t < line && b[t] !== 32) t++;
  let query = -1;
  if (t < line) {
    // Byte loops: Buffer#indexOf is not bounded, and the line is short.
    for (t++; t < line; t++) {
      const c = b[t]!;
      if (c === 32) break;
      if (c === 63 && query < 0) query = t;
    }
  }
  out[TARGET_END] = t;
  out[QUERY] = query;
  // Stores, not fill(): a builtin call for 8 slots costs more than the slots.
  out[OWN_HOST] = out[OWN_HOST + 1] = out[OWN_CONTENT_LENGTH] = out[OWN_CONTENT_LENGTH + 1] = -1;
  out[OWN_TRANSFER_ENCODING] =
    out[OWN_TRANSFER_ENCODING + 1] =
    out[OWN_CONNECTION] =
    out[OWN_CONNECTION + 1] =
      -1;
  const s = line + 2;
  let p = s;
  let count = 0;
  let n = 0;
  for (;;) {
    // Bounded by the window after the fact.
    const i = indexOf.call(b, 10, p);
    if (i < 0 || i >= e) return e - s > MAX_HEADER ? -2 : -1;
    const eol = i > p && b[i - 1] === 13 ? i - 1 : i;
    if (eol === p) {
      out[1] = i + 1;
      return n;
    }
    if (count === MAX_HEADERS) return -2;
    count++;
    const slot = ownSlot(b, p, eol);
    if (slot >= 0) {
      let vs = p + NAME_LEN[slot]! + 1;
      while (vs < eol && (b[vs] === 32 || b[vs] === 9)) vs++;
      out[slot] = vs;
      out[slot + 1] = eol;
    } else {
      out[LINES + 2 * n] = p;
      out[LINES + 1 + 2 * n] = eol;
      n++;
    }
    p = i + 1;
  }
}

/** The C addon, or why it is unavailable. */
export function loadHttp1LinesAddon(): Http1LinesAddon | string {
  if (process.env.FLOWPLANE_HTTP1_NATIVE === "0") return "http1-lines addon: off (FLOWPLANE_HTTP1_NATIVE=0)";
  const file = privateSourceFile("http1-lines", HTTP1_LINES_C);
  if (typeof file !== "string") return `http1-lines addon unavailable (${file.reason})`;
  return buildAddon<Http1LinesAddon>({ name: "http1-lines", source: pathToFileURL(file) });
}

/** The JS scanner with its own output array. */
export function jsHeaderScanner(reason: string): HeaderScanner {
  const out = new Int32Array(OUT_LEN);
  return { scan: (b, off, end) => scanHeaderBlockJs(b, off, end, out), out, kind: reason };
}

let cached: HeaderScanner | undefined;

/** This thread's scanner: the addon when it loads, else the JS version (`kind` says why). */
export function headerScanner(): HeaderScanner {
  if (cached) return cached;
  const addon = loadHttp1LinesAddon();
  if (typeof addon === "string") cached = jsHeaderScanner(addon);
  else {
    const out = addon.buffer();
    cached = { scan: addon.scan, out, kind: "native" };
  }
  return cached;
}
