/**
 * Dubbo: 16-byte header (magic 0xdabb, flags: request 0x80, two-way 0x40, event 0x20,
 * serialization id; status; 64-bit request id; body length). Requests and responses pair on
 * the request id. In a request body the service path and method are read when readable:
 * Hessian2 strings, else the first printable runs (Kryo, Fastjson...).
 */
import { i32, u32 } from "../bytes.ts";
import type { L7Parser, ParseContext, ProtocolSpec, ResponseStatus } from "../types.ts";

const MAX_BODY = 64 * 1024 * 1024;

function status(s: number): ResponseStatus {
  if (s === 20) return "ok";
  if (s === 30 || s === 40 || s === 90) return "client_error";
  return "server_error";
}

/** Hessian2 string at o: [value, next] or null. */
function hessianString(b: Uint8Array, o: number, end: number): [string, number] | null {
  if (o >= end) return null;
  const c = b[o]!;
  let len: number;
  let p: number;
  if (c <= 0x1f) {
    len = c;
    p = o + 1;
  } else if (c >= 0x30 && c <= 0x33) {
    len = ((c - 0x30) << 8) | (b[o + 1] ?? 0);
    p = o + 2;
  } else if (c === 0x53) {
    len = ((b[o + 1] ?? 0) << 8) | (b[o + 2] ?? 0);
    p = o + 3;
  } else if (c === 0x4e) return ["", o + 1];
  else return null;
  if (p + len > end) return null;
  let s = "";
  for (let i = p; i < p + len; i++) {
    if (b[i]! > 127) return null;
    s += String.fromCharCode(b[i]!);
  }
  return [s, p + len];
}

/** Printable ASCII runs of at least 2 characters (high bit of the last char cleared: Kryo). */
function printableRuns(b: Uint8Array, o: number, end: number, max: number): string[] {
  const out: string[] = [];
  let s = "";
  for (let i = o; i < end && out.length < max; i++) {
    const c = b[i]!;
    const ch = c & 0x7f;
    if (ch >= 32 && ch < 127 && (c < 128 || s.length > 0)) {
      s += String.fromCharCode(ch);
      if (c >= 128) {
        if (s.length >= 2) out.push(s);
        s = "";
      }
    } else {
      if (s.length >= 2) out.push(s);
      s = "";
    }
  }
  if (s.length >= 2 && out.length < max) out.push(s);
  return out;
}

class DubboParser implements L7Parser {
  parse(ctx: ParseContext, _dir: 0 | 1, b: Uint8Array, off: number, end: number): number {
    if (end - off < 16) return 0;
    if (b[off] !== 0xda || b[off + 1] !== 0xbb) return -1;
    const flags = b[off + 2]!;
    const st = b[off + 3]!;
    const idHi = u32(b, off + 4);
    const idLo = u32(b, off + 8);
    const len = i32(b, off + 12);
    if (len < 0 || len > MAX_BODY) return -1;
    const key = (idHi & 0x1fffff) * 2 ** 32 + idLo;
    const total = 16 + len;
    const isReq = (flags & 0x80) !== 0;
    const event = (flags & 0x20) !== 0;
    if (isReq) {
      if (end - off < total && total <= 8192) return 0;
      let service = "";
      let method = "";
      let version = "";
      if (!event) {
        const e = Math.min(end, off + total);
        const ser = flags & 0x1f;
        if (ser === 2) {
          const v = hessianString(b, off + 16, e);
          const sp = v && hessianString(b, v[1], e);
          const sv = sp && hessianString(b, sp[1], e);
          const m = sv && hessianString(b, sv[1], e);
          version = v?.[0] ?? "";
          service = sp?.[0] ?? "";
          method = m?.[0] ?? "";
        } else {
          const runs = printableRuns(b, off + 16, Math.min(e, off + 16 + 1024), 4);
          version = runs[0] ?? "";
          service = runs[1] ?? "";
          method = runs[3] ?? runs[2] ?? "";
        }
      }
      ctx.request({
        key,
        oneWay: (flags & 0x40) === 0,
        version: version.slice(0, 16),
        type: event ? "heartbeat" : "request",
        domain: service,
        resource: method ? `${service}/${method}` : service,
        endpoint: method ? `${service}/${method}` : service,
        length: len,
      });
    } else {
      ctx.response({
        key,
        status: status(st),
        code: st,
        exception: st === 20 ? "" : `status ${st}`,
        length: len,
      });
    }
    return total;
  }
}

export const dubbo: ProtocolSpec = {
  name: "dubbo",
  ports: [20880, 20881],
  transport: "tcp",
  detect(b, off, end) {
    if (end - off < 16 || b[off] !== 0xda || b[off + 1] !== 0xbb) return 0;
    return (b[off + 2]! & 0x80) !== 0 ? 1 : 2;
  },
  create: () => new DubboParser(),
};
