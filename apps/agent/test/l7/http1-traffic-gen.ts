/**
 * Seeded HTTP/1 traffic for differential tests of the L7 processor: conversations (keep-alive,
 * pipelining, Content-Length and chunked bodies with trailers, 100-continue, HEAD/204/304,
 * 101 upgrade, close-delimited responses, odd reason phrases, hosts, paths and trace headers,
 * oversized header blocks, unanswered requests and orphan responses), cut into TCP segments
 * and then damaged the way captures are (snaplen cuts, losses, reordering, retransmissions,
 * garbage). Every flow comes from its own seed, so one flow can be replayed alone.
 *
 * Bytes are built as latin1 strings (one char per byte) and turned into bytes at the end.
 */

import type { FlowMeta } from "../../src/l7/types.ts";
import { Rng } from "../../src/testing/rng.ts";

export { Rng };

/** A seed for flow `i` of a run (independent of the other flows). */
export function flowSeed(runSeed: number, i: number): number {
  let h = (runSeed ^ Math.imul(i + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** How hostile the traffic is: 0 = clean keep-alive traffic (for the long run), 1 = full fuzz. */
export interface GenConfig {
  hostility: number;
  /** Configured header names worth putting into requests (trace, request-id, masked ones). */
  extraHeaders: readonly string[];
  /** Chance that a segment's time is before the previous one's (captures merged out of order). */
  backwardTs?: number;
  /** Trace header values made of the bytes their parsers split, trim and decode. */
  traceFuzz?: boolean;
  /** Most requests a "pending" flow sends without answers (default 75). */
  maxPending?: number;
  /** Chance per segment of bytes at an unrelated sequence number (default: a third of the damage rate). */
  seqChaos?: number;
}

/** One send: logical direction 0 = client→server, bytes, and µs since the previous send. */
interface Write {
  dir: 0 | 1;
  data: string;
  gap: number;
}

export interface Seg {
  /** Engine direction (after the flow's orientation swap). */
  dir: 0 | 1;
  data: Uint8Array;
  wireLen: number;
  seq: number;
  /** The time passed to the processor. */
  ts: number;
  /** When it is delivered (= ts, except for the times that go backwards). */
  at: number;
  /** What was done to it, for failure reports. */
  note: string;
}

export interface GenFlow {
  index: number;
  seed: number;
  meta: FlowMeta;
  segs: Seg[];
  /** onFlowEnd time, or -1: the flow is left to flush(). */
  endTs: number;
  /** Messages (requests + final responses) generated, before damage. */
  messages: number;
  /** Short description of the scenario. */
  scenario: string;
}

const HEX = "0123456789abcdef";

function hex(r: Rng, n: number, upper = false): string {
  let s = "";
  for (let i = 0; i < n; i++) s += HEX[r.int(16)];
  return upper ? s.toUpperCase() : s;
}

function randBytes(r: Rng, n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += String.fromCharCode(r.int(256));
  return s;
}

/** Printable ASCII with now and then a byte JSON must escape or that is not ASCII. */
/** A run of consecutive byte values (every one of 0-255 comes up), without CR, LF and `skip`. */
function byteRun(r: Rng, n: number, skip = ""): string {
  let s = "";
  for (let c = r.int(256); s.length < n; c = (c + 1) & 255) {
    const ch = String.fromCharCode(c);
    if (c !== 13 && c !== 10 && !skip.includes(ch)) s += ch;
  }
  return s;
}

function oddText(r: Rng, n: number): string {
  const odd = [
    '"',
    "\\",
    "\t",
    "\x01",
    "\x1f",
    "\x7f",
    "\x80",
    "\xa0",
    "\xe9",
    "\xff",
    "\x0b",
    "\x0c",
    "/",
    "\u00d1",
  ];
  let s = "";
  for (let i = 0; i < n; i++) s += r.chance(0.15) ? r.pick(odd) : String.fromCharCode(r.range(0x21, 0x7e));
  return s;
}

function word(r: Rng): string {
  return r.pick([
    "api",
    "v1",
    "v2",
    "users",
    "orders",
    "items",
    "search",
    "static",
    "img",
    "health",
    "x",
    "a-b",
    "%20",
  ]);
}

/** Random case per letter: header names are matched case-insensitively. */
function casing(r: Rng, name: string): string {
  const m = r.int(4);
  if (m === 0) return name;
  if (m === 1) return name.toUpperCase();
  if (m === 2) return name.replace(/(^|-)([a-z])/g, (_, a: string, b: string) => a + b.toUpperCase());
  let s = "";
  for (const c of name) s += r.chance(0.5) ? c.toUpperCase() : c;
  return s;
}

/** Spaces JS trim() removes (and JSON escapes) around a value, sometimes. */
function pad(r: Rng, v: string): string {
  if (!r.chance(0.15)) return v;
  // \x85 and \x1f are not JS whitespace (trim keeps them); the others are.
  const sp = [" ", "\t", "\x0b", "\x0c", "\xa0", "  ", "\x85", "\x1f", "\r"];
  return (r.chance(0.5) ? r.pick(sp) : "") + v + (r.chance(0.7) ? r.pick(sp) : "");
}

function b64(s: string, r: Rng): string {
  let out = Buffer.from(s, "latin1").toString("base64");
  if (r.chance(0.2)) out = out.replace(/=+$/, "");
  if (r.chance(0.1)) out = out.replace(/\//g, "_").replace(/\+/g, "-");
  if (r.chance(0.05)) out = ` ${out.slice(0, 3)}*${out.slice(3)}`;
  if (r.chance(0.05)) out = `${out.slice(0, 4)}=${out.slice(4)}`;
  if (r.chance(0.05)) out += r.pick(["Q", "QU", "=", "==="]);
  if (r.chance(0.03)) out = `${out.slice(0, 5)}\t${out.slice(5)}`;
  return out;
}

function traceparent(r: Rng): string {
  switch (r.int(8)) {
    case 0:
      return `00-${hex(r, 32)}-${hex(r, 16)}-0${r.int(2)}`;
    case 1:
      return `00-${hex(r, 32, true)}-${hex(r, 16)}-01-${hex(r, 4)}`;
    case 2:
      return `0-${hex(r, 32)}-${hex(r, 16)}-1`;
    case 3:
      return `00-${hex(r, 31)}-${hex(r, 16)}-01`;
    case 4:
      return `00-${hex(r, 32)}-${hex(r, 17)}-01`;
    case 5:
      return `${hex(r, 2)}-${hex(r, 32)}-${hex(r, 16)}`;
    case 6:
      return oddText(r, r.range(0, 70));
    default:
      return `00-${hex(r, 32)}-${hex(r, 16)}-01`;
  }
}

function b3(r: Rng): string {
  switch (r.int(7)) {
    case 0:
      return `${hex(r, 32)}-${hex(r, 16)}`;
    case 1:
      return `${hex(r, 16)}-${hex(r, 16)}-1`;
    case 2:
      return `${hex(r, 32)}-${hex(r, 16)}-d-${hex(r, 16)}`;
    case 3:
      return r.pick(["0", "1", "d", ""]);
    case 4:
      return `${oddText(r, r.range(100, 200))}-${hex(r, 16)}-1-${hex(r, 16)}-extra`;
    case 5:
      return `${hex(r, 32)} - ${hex(r, 16)} -1- ${hex(r, 16)} `;
    default:
      return `${hex(r, 32)}-${hex(r, 16)}-1-${hex(r, 16)}`;
  }
}

function sw8(r: Rng): string {
  const id = (n: number) => (r.chance(0.2) ? randBytes(r, n) : hex(r, n));
  switch (r.int(6)) {
    case 0:
      return `1-${b64(id(32), r)}-${b64(id(24), r)}-${r.int(10)}-${b64("svc", r)}-${b64("inst", r)}-${b64("/ep", r)}-${b64("h:80", r)}`;
    case 1:
      return `1-${b64(id(32), r)}-${b64(id(24), r)}`;
    case 2:
      return `0-${oddText(r, 12)}-${oddText(r, 12)}-${oddText(r, 3)}`;
    case 3:
      return `1-${b64(id(200), r)}-${b64(id(150), r)}-${hex(r, 130)}-x`;
    case 4:
      return `1--${b64(id(8), r)}-0`;
    default:
      return `1-${b64(id(32), r)}-${b64(id(24), r)}-0-${b64("svc", r)}-${b64("inst", r)}-${b64("/ep", r)}-${b64("h:80", r)}`;
  }
}

function uber(r: Rng): string {
  const sep = r.pick([":", ":", "%3A", "%3a"]);
  switch (r.int(6)) {
    case 0:
      return [hex(r, 16), hex(r, 16), "0", "1"].join(sep);
    case 1:
      return [hex(r, 32), hex(r, 16), hex(r, 16), "1"].join(sep);
    case 2:
      return `${hex(r, 16)}%3A${hex(r, 16)}:0%3a1`;
    case 3:
      return [hex(r, 16), hex(r, 16)].join(sep);
    case 4:
      return [oddText(r, 140), " x ", " 0", "1"].join(sep);
    default:
      return [hex(r, 16), hex(r, 16), hex(r, 16), "1"].join(sep);
  }
}

/** Trace and id headers, in random order, sometimes repeated. */
/** A value from the bytes trace parsing cares about: separators, base64, spaces JS trims or not. */
function nastyValue(r: Rng): string {
  const parts = [
    "-",
    "-",
    ":",
    "%3A",
    "%3a",
    "%3",
    "=",
    "==",
    " ",
    "\t",
    "\x0b",
    "\xa0",
    "\x85",
    "\x1f",
    "0",
    "1",
    "d",
  ];
  const b64ish = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-";
  let s = "";
  for (let n = r.range(0, 12); n > 0; n--) {
    const k = r.int(4);
    if (k === 0) s += r.pick(parts);
    else if (k === 1) s += hex(r, r.pick([1, 2, 16, 32, 31, 33]));
    else if (k === 2) for (let i = r.range(1, 12); i > 0; i--) s += b64ish[r.int(b64ish.length)];
    else
      s += Buffer.from(
        r.chance(0.7) ? hex(r, r.range(0, 24)) : randBytes(r, r.range(0, 8)),
        "latin1",
      ).toString("base64");
  }
  if (r.chance(0.05)) s += "x".repeat(r.range(100, 300));
  return s;
}

const TRACE_NAMES = [
  "traceparent",
  "b3",
  "x-b3-traceid",
  "x-b3-spanid",
  "x-b3-parentspanid",
  "sw8",
  "uber-trace-id",
  "x-request-id",
];

function traceHeaders(r: Rng, cfg: GenConfig): [string, string][] {
  const out: [string, string][] = [];
  if (cfg.traceFuzz) {
    for (let n = r.range(1, 4); n > 0; n--) {
      const name =
        r.chance(0.8) || cfg.extraHeaders.length === 0 ? r.pick(TRACE_NAMES) : r.pick(cfg.extraHeaders);
      let v = nastyValue(r);
      // Now and then the usual shape with a nasty part in it.
      if (name === "sw8" && r.chance(0.5)) v = `1-${v}-${nastyValue(r)}-${r.int(9)}-${nastyValue(r)}`;
      if (name === "uber-trace-id" && r.chance(0.5))
        v = `${hex(r, 16)}:${nastyValue(r)}:${r.pick(["0", "00", " 0", nastyValue(r)])}:1`;
      out.push([casing(r, name), v]);
    }
    return out;
  }
  const n = r.chance(0.3) ? 0 : r.range(1, 4);
  for (let i = 0; i < n; i++) {
    const k = r.int(12);
    let name: string;
    let v: string;
    if (k === 0) [name, v] = ["traceparent", traceparent(r)];
    else if (k === 1) [name, v] = ["b3", b3(r)];
    else if (k === 2)
      [name, v] = [
        r.pick(["x-b3-traceid", "x-b3-spanid", "x-b3-parentspanid"]),
        r.chance(0.8) ? hex(r, r.pick([16, 32])) : oddText(r, r.range(0, 300)),
      ];
    else if (k === 3) [name, v] = ["sw8", sw8(r)];
    else if (k === 4) [name, v] = ["uber-trace-id", uber(r)];
    else if (k === 5)
      [name, v] = [
        "x-request-id",
        r.chance(0.8) ? `${hex(r, 8)}-${hex(r, 4)}-${hex(r, 4)}` : oddText(r, r.range(0, 300)),
      ];
    else if (k === 6)
      [name, v] = [
        r.pick(["authorization", "cookie", "proxy-authorization", "set-cookie"]),
        `Bearer ${hex(r, 20)}`,
      ];
    else if (k <= 9 && cfg.extraHeaders.length > 0)
      [name, v] = [r.pick(cfg.extraHeaders), r.chance(0.8) ? hex(r, 24) : oddText(r, r.range(0, 300))];
    else if (k === 10)
      [name, v] = [
        r.pick(["x-b3-sampled", "tracestate", "x-trace", "b", "x-request-idx", "traceparent2"]),
        hex(r, 8),
      ];
    else [name, v] = ["x-b3-traceid", hex(r, 32)];
    out.push([casing(r, name), pad(r, v)]);
  }
  // A bundle as one tracer sends it.
  if (r.chance(0.1))
    out.push(
      ["X-B3-TraceId", hex(r, 32)],
      ["X-B3-SpanId", hex(r, 16)],
      ["X-B3-ParentSpanId", hex(r, 16)],
      ["X-B3-Sampled", "1"],
    );
  return out;
}

function host(r: Rng, h = 1): string {
  switch (h > 0 ? r.int(13) : 5) {
    case 12:
      return byteRun(r, r.range(1, 255), " \t");
    case 0:
      return oddText(r, r.range(1, 40));
    case 1:
      return `${"h".repeat(r.range(250, 300))}.example`;
    case 2:
      return "";
    case 3:
      return "[fd00::1]:8080";
    case 4:
      return `api.example.com${r.pick([" ", "\t", "  "])}`;
    default:
      return r.pick([
        "example.com",
        "api.svc.cluster.local:8080",
        "10.0.0.5",
        "localhost:3000",
        "shop.example.org",
      ]);
  }
}

function target(r: Rng, h: number): string {
  switch (h > 0 || r.chance(0.01) ? r.int(14) : 9 + r.int(5)) {
    case 0:
      return "/";
    case 1:
      return `/${"p".repeat(r.range(1000, 1100))}?q=${hex(r, 8)}`;
    case 2:
      return `/${"l".repeat(r.range(1010, 1030))}/${hex(r, 40)}`;
    case 3:
      return `/search?q=${hex(r, 6)}&x=${r.chance(0.5) ? "?" : ""}${hex(r, 3)}`;
    case 4:
      return "*";
    case 5:
      return `http://${host(r).replace(/[ \t]/g, "")}/abs/${word(r)}?k=v`;
    case 6:
      return r.chance(0.5)
        ? `/${oddText(r, r.range(1, 30)).replace(/ /g, "_")}`
        : `/${byteRun(r, r.range(1, 255), " ")}`;
    case 7:
      return `/${"q".repeat(r.range(1015, 1030))}?tail=1`;
    case 8:
      return "?only=query";
    case 9:
      return `/${word(r)}/${r.int(100000)}`;
    default:
      return `/${word(r)}/${word(r)}${r.chance(0.4) ? `?id=${r.int(1000)}&t=${hex(r, 4)}` : ""}`;
  }
}

const METHODS = [
  "GET",
  "GET",
  "GET",
  "POST",
  "POST",
  "PUT",
  "DELETE",
  "HEAD",
  "OPTIONS",
  "PATCH",
  "TRACE",
  "CONNECT",
];

interface ReqInfo {
  method: string;
  data: string;
  /** Sent after a 100 Continue. */
  body: string;
  expect100: boolean;
  upgrade: boolean;
}

function headerLine(r: Rng, name: string, value: string, h: number): string {
  let sepr = ": ";
  if (h > 0 && r.chance(0.1 * h)) sepr = r.pick([":", ":\t", ":  ", " : ", ":\t "]);
  const eol = h > 0 && r.chance(0.04 * h) ? r.pick(["\n", "\r\r\n"]) : "\r\n";
  return `${name}${sepr}${value}${eol}`;
}

function chunkedBody(r: Rng, h: number, allowTrailers: boolean): string {
  let s = "";
  const n = r.range(0, 4);
  for (let i = 0; i < n; i++) {
    const len = r.chance(0.05) ? r.range(2000, 20000) : r.range(1, 300);
    let size = len.toString(16);
    if (r.chance(0.3)) size = size.toUpperCase();
    if (r.chance(0.1)) size = `000${size}`;
    if (r.chance(0.15)) size += r.pick([";ext=1", '; name="v"', ";x", " "]);
    if (h > 0 && r.chance(0.01 * h)) size = r.pick([` ${size}`, `0x${size}`, "-1", "g"]);
    s += `${size}\r\n${bodyText(r, len)}\r\n`;
  }
  if (h > 0 && r.chance(0.01 * h)) s += r.pick(["FFFFFFFFFF\r\n", "10000000001\r\n", "a".repeat(1100)]);
  s += r.chance(0.1) ? "00\r\n" : "0\r\n";
  if (allowTrailers && r.chance(0.3))
    s += `X-Checksum: ${hex(r, 8)}\r\nServer-Timing: db;dur=${r.int(100)}\r\n`;
  if (h > 0 && r.chance(0.02 * h)) s = s.replace(/\r\n$/, "\r\nzz\r\n");
  return `${s}\r\n`;
}

/** Body bytes; now and then text that looks like a message start (it must not be parsed). */
function bodyText(r: Rng, n: number): string {
  if (n <= 0) return "";
  const fake = r.chance(0.1)
    ? r.pick(["HTTP/1.1 200 OK\r\n\r\n", "GET / HTTP/1.1\r\n\r\n", "0\r\n\r\n"])
    : "";
  const base = r.chance(0.3) ? randBytes(r, Math.min(n, 64)) : "";
  let s = fake + base;
  if (s.length < n) s += "b".repeat(n - s.length);
  return s.slice(0, n);
}

function request(r: Rng, cfg: GenConfig, h: number, opts: { upgrade?: boolean } = {}): ReqInfo {
  let method = r.pick(METHODS);
  if (h > 0 && r.chance(0.01 * h)) method = r.pick(["PROPFIND", "get", "GET\t", "POSTX"]);
  const upgrade = opts.upgrade === true;
  if (upgrade) method = "GET";
  let version = "HTTP/1.1";
  if (r.chance(0.1)) version = "HTTP/1.0";
  if (h > 0 && r.chance(0.03 * h))
    version = r.pick([
      "HTTP/1.2",
      "HTTP/2.0",
      "HTTP/1.1x",
      "HTTP/",
      "HTTPS/1.1",
      "HTTP/10.0",
      "HTTP/1.1 extra",
      "HTTP/1.12345678901",
      "http/1.1",
      "HTTP/\xe9",
    ]);
  let line = `${method} ${target(r, h)} ${version}`;
  if (h > 0 && r.chance(0.01 * h)) line = `${method} /no-version`;
  if (h > 0 && r.chance(0.01 * h)) line = `${method} /two spaces ${version}`;
  if (h > 0 && r.chance(0.01 * h)) line = `${method}  /double-space ${version}`;
  if (h > 0 && r.chance(0.005 * h)) line = `${method} /nul\x00byte ${version}`;
  let head = `${line}\r\n`;
  const hdrs: [string, string][] = [];
  if (r.chance(0.92))
    hdrs.push([
      r.chance(0.8) || h === 0 ? "Host" : r.pick(["host", "HOST", "hOsT", "hxyz", "Host "]),
      host(r, h),
    ]);
  if (r.chance(0.05)) hdrs.push(["Host", host(r)]);
  hdrs.push(["User-Agent", r.pick(["curl/8.5.0", "Mozilla/5.0 (X11; Linux x86_64)", "okhttp/4.12"])]);
  if (r.chance(0.5)) hdrs.push(["Accept", "*/*"]);
  hdrs.push(...traceHeaders(r, cfg));
  let bodyLen = 0;
  let chunked = false;
  const hasBody = method === "POST" || method === "PUT" || method === "PATCH" || r.chance(0.03);
  if (hasBody) {
    if (r.chance(0.2)) chunked = true;
    else bodyLen = r.chance(0.03 * h) ? r.range(20000, 120000) : r.range(0, 2000);
  }
  let expect100 = false;
  if (chunked)
    hdrs.push([
      casing(r, "transfer-encoding"),
      r.pick(["chunked", "Chunked", "gzip, chunked", `${"gzip, ".repeat(90)}chunked`, "CHUNKED ", "chunk"]),
    ]);
  else if (hasBody || r.chance(0.05)) {
    let cl = String(bodyLen);
    if (h > 0 && r.chance(0.02 * h))
      cl = r.pick([
        ` ${cl}`,
        `${cl} `,
        `+${cl}`,
        "1234567890123456",
        "999999999999999",
        "abc",
        `${cl}, ${cl}`,
      ]);
    hdrs.push([casing(r, "content-length"), cl]);
  }
  if (hasBody && r.chance(0.15)) {
    hdrs.push(["Expect", "100-continue"]);
    expect100 = true;
  }
  if (upgrade)
    hdrs.push(["Upgrade", "websocket"], ["Connection", "Upgrade"], ["Sec-WebSocket-Key", b64(hex(r, 16), r)]);
  else if (r.chance(0.3))
    hdrs.push([casing(r, "connection"), r.pick(["keep-alive", "Keep-Alive", "close", "TE, close"])]);
  // More than 128 lines, or a block over 32 KiB (both are not HTTP the parser accepts).
  if (h > 0 && r.chance(0.015 * h))
    for (let i = r.range(120, 140); i > 0; i--) hdrs.push([`X-Filler-${i}`, hex(r, 4)]);
  if (h > 0 && r.chance(0.01 * h)) hdrs.push(["X-Big", "v".repeat(r.range(30000, 40000))]);
  if (h > 0 && r.chance(0.02)) hdrs.push([" folded", "continuation"]);
  if (h > 0 && r.chance(0.02 * h))
    hdrs.push([
      randBytes(r, r.range(0, 12)).replace(/[\r\n]/g, "x"),
      randBytes(r, r.range(0, 40)).replace(/\n/g, ""),
    ]);
  for (let i = hdrs.length - 1; i > 0 && r.chance(0.3); i--) {
    const j = r.int(i + 1);
    [hdrs[i], hdrs[j]] = [hdrs[j]!, hdrs[i]!];
  }
  for (const [n, v] of hdrs) head += headerLine(r, n, v, h);
  head += "\r\n";
  const body = chunked ? chunkedBody(r, h, true) : bodyText(r, bodyLen);
  return expect100
    ? { method, data: head, body, expect100, upgrade }
    : { method, data: head + body, body: "", expect100, upgrade };
}

const REASONS: Record<number, string> = {
  100: "Continue",
  101: "Switching Protocols",
  103: "Early Hints",
  200: "OK",
  201: "Created",
  204: "No Content",
  206: "Partial Content",
  301: "Moved Permanently",
  304: "Not Modified",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  418: "I'm a teapot",
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

function reason(r: Rng, code: number, h: number): string {
  if (h > 0 && r.chance(0.25 * h)) {
    switch (r.int(7)) {
      case 6:
        return ` ${byteRun(r, r.range(1, 127))}`;
      case 0:
        return ` ${oddText(r, r.range(1, 40))}`;
      case 1:
        return ` ${"R".repeat(r.range(120, 200))} end`;
      case 2:
        return "";
      case 3:
        return " ";
      case 4:
        return ' Erreur "interne" \\ serveur \xe9t\xe9';
      default:
        return ` Nicht gefunden \xfc\xdf \xa0`;
    }
  }
  return ` ${REASONS[code] ?? "Whatever"}`;
}

/** A response to `method`, or a close-delimited one when `last` allows it. */
function response(
  r: Rng,
  method: string,
  h: number,
  last: boolean,
  code?: number,
): { data: string; closes: boolean } {
  if (code === undefined) {
    code = r.pick([
      200, 200, 200, 200, 201, 204, 206, 301, 304, 400, 401, 403, 404, 418, 429, 500, 502, 503, 504,
    ]);
    if (h > 0 && r.chance(0.02 * h)) code = r.pick([199, 299, 600, 999, 700]);
  }
  let version = r.chance(0.1) ? "HTTP/1.0" : "HTTP/1.1";
  if (h > 0 && r.chance(0.02 * h)) version = r.pick(["HTTP/1.2", "HTTP/1.x"]);
  let status = `${version} ${code}${reason(r, code, h)}`;
  if (h > 0 && r.chance(0.005 * h))
    status = r.pick([
      `${version} 20 OK`,
      `${version} 2000 OK`,
      `${version}  200 OK`,
      `${version} abc`,
      `${version} 099 Low`,
      "HTTP/1.10 200 OK",
      `${version} 4040 Not Found`,
      `${version} 404Not Found`,
      `${version} 5031`,
      `HTTP/1.1\t200 OK`,
      `${version} 200`,
    ]);
  let head = `${status}\r\n`;
  const hdrs: [string, string][] = [
    ["Date", "Fri, 27 Nov 2026 02:44:20 GMT"],
    ["Server", r.pick(["nginx/1.25", "envoy", "Apache"])],
  ];
  if (r.chance(0.2)) hdrs.push(["Set-Cookie", `sid=${hex(r, 16)}`], ["traceparent", traceparent(r)]);
  const noBody = method === "HEAD" || code === 204 || code === 304;
  let body = "";
  let closes = false;
  const k = r.int(10);
  if (code === 101) {
    hdrs.push(["Upgrade", "websocket"], ["Connection", "Upgrade"]);
  } else if (noBody) {
    if (method === "HEAD" || r.chance(0.3)) hdrs.push(["Content-Length", String(r.range(0, 5000))]);
  } else if (last && k === 0) {
    closes = true;
    hdrs.push(["Connection", "close"]);
    body = bodyText(r, r.range(0, 3000));
  } else if (k <= 2) {
    hdrs.push([casing(r, "transfer-encoding"), "chunked"]);
    body = chunkedBody(r, h, true);
  } else {
    const n = r.chance(0.02 * h + 0.002) ? r.range(20000, 150000) : r.range(0, h > 0 ? 3000 : 1200);
    let cl = String(n);
    if (h > 0 && r.chance(0.01 * h))
      cl = r.pick([`${n + 7}`, `${Math.max(0, n - 7)}`, " ", "-1", "999999999999999"]);
    hdrs.push([casing(r, "content-length"), cl]);
    body = bodyText(r, n);
  }
  if (h > 0 && r.chance(0.005 * h)) for (let i = r.range(125, 135); i > 0; i--) hdrs.push([`X-R-${i}`, "1"]);
  if (h > 0 && r.chance(0.004 * h)) hdrs.push(["X-Big", "w".repeat(r.range(32000, 36000))]);
  for (const [n, v] of hdrs) head += headerLine(r, n, v, h);
  return { data: `${head}\r\n${body}`, closes };
}

function interim(r: Rng): string {
  return r.chance(0.8)
    ? "HTTP/1.1 100 Continue\r\n\r\n"
    : "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n";
}

/** µs before the answer: mostly quick, sometimes slow, rarely past the timeouts. */
function latency(r: Rng, h: number): number {
  if (r.chance(0.01 + 0.02 * h)) return r.range(2_100_000, 6_000_000);
  if (h > 0 && r.chance(0.003 * h)) return r.range(30_000_000, 40_000_000);
  if (r.chance(0.1)) return r.range(50_000, 900_000);
  return r.range(50, 20_000);
}

/** The conversation of one flow as sends in order. */
function conversation(r: Rng, cfg: GenConfig): { writes: Write[]; messages: number; scenario: string } {
  const h = cfg.hostility;
  const writes: Write[] = [];
  let messages = 0;
  const style = r.pick(["keepalive", "keepalive", "pipelined", "mixed", "pending"] as const);
  const n =
    style === "pending" ? r.range(3, cfg.maxPending ?? 75) : r.chance(0.1) ? r.range(15, 40) : r.range(1, 8);
  const tags: string[] = [style];
  let i = 0;
  let closed = false;
  while (i < n && !closed) {
    const batch =
      style === "pipelined" || (style === "mixed" && r.chance(0.4)) ? Math.min(n - i, r.range(2, 6)) : 1;
    const reqs: ReqInfo[] = [];
    for (let k = 0; k < batch; k++) {
      const upgrade = h > 0 && i + k === n - 1 && r.chance(0.05 * h);
      const q = request(r, cfg, h, { upgrade });
      reqs.push(q);
      if (q.upgrade) tags.push("upgrade");
      writes.push({
        dir: 0,
        data: q.data,
        gap:
          k === 0 ? (r.chance(0.05) ? r.range(1_000_000, 3_000_000) : r.range(0, 200_000)) : r.range(0, 50),
      });
      messages++;
      if (q.expect100) {
        tags.push("100-continue");
        // Without the interim answer the client sends the body after its wait anyway.
        if (batch === 1 && r.chance(0.8)) writes.push({ dir: 1, data: interim(r), gap: r.range(50, 5000) });
        writes.push({ dir: 0, data: q.body, gap: r.range(50, 5000) });
      }
    }
    // Unanswered: pending at the end, or a gap in the pairing.
    const answer = style === "pending" ? r.chance(0.1) : !r.chance(0.04 + 0.04 * h);
    if (!answer) tags.push("unanswered");
    for (let k = 0; k < reqs.length && answer; k++) {
      const q = reqs[k]!;
      const last = i + k === n - 1;
      if (r.chance(0.05)) writes.push({ dir: 1, data: interim(r), gap: r.range(10, 2000) });
      const resp = response(r, q.method, h, last && k === reqs.length - 1, q.upgrade ? 101 : undefined);
      writes.push({ dir: 1, data: resp.data, gap: k === 0 ? latency(r, h) : r.range(0, 100) });
      messages++;
      if (resp.closes) {
        tags.push("close-delimited");
        closed = true;
      }
      if (q.upgrade) {
        closed = true;
        for (let w = r.range(1, 6); w > 0; w--)
          writes.push({
            dir: r.chance(0.5) ? 0 : 1,
            data: randBytes(r, r.range(2, 200)),
            gap: r.range(10, 100_000),
          });
      }
    }
    // A response nobody asked for (the capture missed the request, or the server is odd).
    if (r.chance(0.03 + 0.03 * h)) {
      writes.push({ dir: 1, data: response(r, "GET", h, false).data, gap: r.range(10, 1000) });
      tags.push("orphan");
    }
    i += batch;
  }
  // Garbage written into a stream.
  if (h > 0 && r.chance(0.05 * h)) {
    writes.splice(r.int(writes.length + 1), 0, {
      dir: r.chance(0.5) ? 0 : 1,
      data: randBytes(r, r.range(1, 300)),
      gap: r.range(0, 1000),
    });
    tags.push("garbage-write");
  }
  // "unanswered x12" rather than the tag twelve times.
  const counts = new Map<string, number>();
  for (const t of tags) counts.set(t, (counts.get(t) ?? 0) + 1);
  const scenario = [...counts].map(([t, n]) => (n > 1 ? `${t} x${n}` : t)).join(",");
  return { writes, messages, scenario };
}

interface RawSeg {
  dir: 0 | 1;
  /** Offset in its direction's stream. */
  off: number;
  data: string;
  wireLen: number;
  /** Earliest time it can be seen (µs from the flow's start). */
  t: number;
  note: string;
}

/** Splits one burst into segment sizes: whole, MSS, random or tiny. */
function sizes(r: Rng, len: number, h: number): number[] {
  const out: number[] = [];
  // Clean traffic: most messages fit one segment, as on real networks.
  const mode = h === 0 && len <= 1448 && r.chance(0.8) ? 0 : r.int(10);
  let rest = len;
  while (rest > 0) {
    let n: number;
    // Small pieces only at the start of a burst (headers): a large body in 1-byte segments
    // tests nothing more and costs much.
    const done = len - rest;
    if (mode < 4 && rest <= 65535) n = rest;
    else if (mode < 7 || done > 4096) n = 1448;
    else if (mode < 9 || h === 0 || done > 200) n = r.range(1, Math.max(1, Math.min(rest, 3000)));
    else n = r.range(1, 3);
    n = Math.min(n, rest);
    out.push(n);
    rest -= n;
  }
  return out;
}

/** A flow: conversation, segments, damage, timestamps and sequence numbers. */
export function genFlow(runSeed: number, index: number, cfg: GenConfig, startTs: number): GenFlow {
  const seed = flowSeed(runSeed, index);
  const r = new Rng(seed);
  const h = cfg.hostility;
  const conv = conversation(r, cfg);
  const tags = [conv.scenario];
  // Cut into segments; consecutive sends of one direction without a pause may share segments.
  const raw: RawSeg[] = [];
  const pos = [0, 0];
  let t = 0;
  for (let w = 0; w < conv.writes.length; ) {
    const first = conv.writes[w]!;
    t += first.gap;
    let data = first.data;
    let e = w + 1;
    while (
      e < conv.writes.length &&
      conv.writes[e]!.dir === first.dir &&
      conv.writes[e]!.gap < 100 &&
      r.chance(0.5)
    ) {
      data += conv.writes[e]!.data;
      e++;
    }
    let o = 0;
    for (const n of sizes(r, data.length, h)) {
      raw.push({
        dir: first.dir,
        off: pos[first.dir]! + o,
        data: data.slice(o, o + n),
        wireLen: n,
        t,
        note: "",
      });
      o += n;
      t += r.chance(0.2) ? 0 : r.range(1, 40);
    }
    pos[first.dir]! += data.length;
    w = e;
  }
  // The capture starts late: the first bytes of one direction (or both) are not seen.
  if (h > 0 && r.chance(0.06 * h) && raw.length > 1) {
    const k = r.range(1, Math.min(4, raw.length - 1));
    raw.splice(0, k);
    tags.push(`starts-late(${k})`);
  }
  // Damage.
  if (h > 0) {
    const p = 0.015 * h;
    for (let i = 0; i < raw.length; i++) {
      const s = raw[i]!;
      if (r.chance(p) && s.data.length > 0) {
        s.data = s.data.slice(0, r.int(s.data.length));
        s.note += "snaplen ";
      }
      if (r.chance(p)) {
        raw.splice(i, 1);
        i--;
        continue;
      }
      if (r.chance(p) && s.data.length > 0) {
        const b = r.int(s.data.length);
        s.data = s.data.slice(0, b) + String.fromCharCode(r.int(256)) + s.data.slice(b + 1);
        s.note += "flipped ";
      }
      if (r.chance(p)) {
        // Retransmission later, of the same bytes or overlapping the previous segment.
        const prev =
          i > 0 && raw[i - 1]!.dir === s.dir && raw[i - 1]!.wireLen === raw[i - 1]!.data.length
            ? raw[i - 1]!
            : null;
        const cp: RawSeg =
          prev && r.chance(0.5)
            ? {
                ...s,
                off: prev.off,
                data: prev.data + s.data,
                wireLen: prev.data.length + s.data.length,
                note: "retx-overlap ",
              }
            : { ...s, note: "retx " };
        if (s.wireLen !== s.data.length && cp.note === "retx-overlap ") cp.wireLen = cp.data.length;
        raw.splice(Math.min(raw.length, i + 1 + r.int(6)), 0, cp);
        i++;
      }
      if (r.chance(p) && i + 1 < raw.length) {
        // Arrives late: behind up to 12 later segments (beyond the processor's 8 held ones).
        const k = r.range(1, 12);
        const [x] = raw.splice(i, 1);
        x!.note += `late(${k}) `;
        raw.splice(Math.min(raw.length, i + k), 0, x!);
        i--;
        continue;
      }
      if (r.chance(cfg.seqChaos ?? p / 3)) {
        // Bytes from nowhere at an unrelated sequence number: anywhere (held segments then span
        // more than 2^31, where the processor's wrap-around order is not transitive), or a
        // little ahead of or behind the stream.
        raw.splice(i, 0, {
          dir: s.dir,
          off: r.chance(0.5) ? r.u32() : (s.off + r.range(-3000, 100_000)) >>> 0,
          data: randBytes(r, r.range(1, 500)),
          wireLen: 0,
          t: s.t,
          note: "garbage-seq ",
        });
        raw[i]!.wireLen = raw[i]!.data.length;
        i++;
      }
      if (r.chance(p / 4)) {
        // A frame cut before its payload: wire bytes, none captured.
        raw.splice(i, 0, { ...s, data: "", note: "empty-capture " });
        i++;
      }
    }
    // Guard the late moves above from looping: a segment is moved at most ~once per pass.
  }
  // Orientation: the engine may take the server for the client.
  const swap = r.chance(0.3) ? 1 : 0;
  if (swap) tags.push("swapped");
  const isn = [r.chance(0.1) ? 0xffffffff - r.int(5000) : r.u32(), r.chance(0.1) ? 0xfffff000 : r.u32()];
  const signed = r.chance(0.15);
  const segs: Seg[] = [];
  let ts = startTs;
  for (const s of raw) {
    ts = Math.max(ts + (r.chance(0.15) ? 0 : r.range(1, 30)), startTs + s.t);
    const back = cfg.backwardTs && r.chance(cfg.backwardTs) ? r.range(1, 3_000_000) : 0;
    let seq = (isn[s.dir]! + s.off) >>> 0;
    if (signed) seq |= 0;
    segs.push({
      dir: (s.dir ^ swap) as 0 | 1,
      data: Buffer.from(s.data, "latin1"),
      wireLen: s.wireLen,
      seq,
      ts: ts - back,
      at: ts,
      note: back ? `${s.note}time-${back}us`.trim() : s.note.trim(),
    });
  }
  // Ended: normally after the last segment, sometimes early (the rest is never seen), or never.
  let endTs = -1;
  const k = r.int(10);
  if (k < 6) endTs = ts + r.range(0, 2_000_000);
  else if (k < 8 && segs.length > 1) {
    const cut = r.range(1, segs.length - 1);
    segs.length = cut;
    endTs = segs[cut - 1]!.at + r.range(0, 100_000);
    tags.push(`ended-early(${cut})`);
  }
  const v6 = r.chance(0.2);
  // Addresses as the engine writes them (RFC 5952: fd00::, not fd00::0): the native path makes
  // a flow's text from its numbers, and keeps a flow whose text it would write otherwise in JS.
  const cIp = v6
    ? (index & 0xffff) === 0
      ? "fd00::"
      : `fd00::${(index & 0xffff).toString(16)}`
    : `10.${(index >> 8) & 255}.${index & 255}.${r.range(1, 254)}`;
  const sIp = v6 ? "fd00::ab:1" : `192.168.${r.int(4)}.${r.range(1, 254)}`;
  const cPort = r.range(1024, 65535);
  const sPort = r.pick([80, 8080, 443, 3000, 12345, 5432]);
  const meta = swap
    ? {
        flowId: String(100000 + index),
        clientIp: sIp,
        clientPort: sPort,
        serverIp: cIp,
        serverPort: cPort,
        ipProtocol: 6,
      }
    : {
        flowId: String(100000 + index),
        clientIp: cIp,
        clientPort: cPort,
        serverIp: sIp,
        serverPort: sPort,
        ipProtocol: 6,
      };
  return { index, seed, meta, segs, endTs, messages: conv.messages, scenario: tags.join(" ") };
}

/** A segment of a flow (its index) or the flow's end (-1), at its delivery time. */
export interface Event {
  ts: number;
  flow: GenFlow;
  seg: number;
}

/** The flows' segments and ends in delivery order. */
export function eventsOf(flows: readonly GenFlow[]): Event[] {
  const ev: Event[] = [];
  for (const f of flows) {
    for (let i = 0; i < f.segs.length; i++) ev.push({ ts: f.segs[i]!.at, flow: f, seg: i });
    if (f.endTs >= 0) ev.push({ ts: f.endTs, flow: f, seg: -1 });
  }
  // Stable: equal times keep flow order, and a flow's end stays after its segments.
  return ev.sort((x, y) => x.ts - y.ts);
}
