/**
 * HTTP/2 (h2c with or without the preface; h2 inside TLS is not visible) and gRPC: frames
 * one per call, HEADERS + CONTINUATION decoded through one HPACK decoder per direction,
 * streams keyed by id (request ↔ response), DATA lengths summed, END_STREAM closing each side,
 * RST_STREAM answering a stream as an error, trailers giving grpc-status / grpc-message.
 */
import { u16, u24, u32 } from "../bytes.ts";
import { statusOfCode } from "../status.ts";
import { emptyTrace } from "../trace-context.ts";
import type { L7Parser, ParseContext, ProtocolSpec, ResponseStatus, TraceContext } from "../types.ts";
import { HpackDecoder } from "./hpack.ts";

const PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const MAX_FRAME = 1 << 24;
const MAX_BLOCK = 64 * 1024;
const MAX_STREAMS = 256;
const GRPC_CLIENT_CODES = new Set([1, 3, 5, 6, 7, 9, 11, 16]);

interface Stream {
  method: string;
  path: string;
  authority: string;
  grpc: boolean;
  trace: TraceContext;
  reqLen: number;
  reqTs: number;
  reqSeq: number;
  reqEmitted: boolean;
  status: number;
  grpcStatus: number;
  grpcMessage: string;
  respLen: number;
  respTs: number;
  respSeq: number;
  respHeaders: boolean;
}

function newStream(): Stream {
  return {
    method: "",
    path: "",
    authority: "",
    grpc: false,
    trace: emptyTrace(),
    reqLen: 0,
    reqTs: 0,
    reqSeq: 0,
    reqEmitted: false,
    status: 0,
    grpcStatus: -1,
    grpcMessage: "",
    respLen: 0,
    respTs: 0,
    respSeq: 0,
    respHeaders: false,
  };
}

class Http2Parser implements L7Parser {
  private preface = false;
  private readonly hpack = [new HpackDecoder(), new HpackDecoder()];
  private readonly streams = new Map<number, Stream>();
  /** HEADERS waiting for CONTINUATION, per direction. */
  private readonly block: (Uint8Array | null)[] = [null, null];
  private readonly blockLen = [0, 0];
  private readonly blockStream = [0, 0];
  private readonly blockEnd = [false, false];

  parse(ctx: ParseContext, dir: 0 | 1, b: Uint8Array, off: number, end: number): number {
    if (dir === 0 && !this.preface && b[off] === 0x50) {
      if (end - off < 24) return 0;
      for (let i = 0; i < 24; i++) if (b[off + i] !== PREFACE.charCodeAt(i)) return -1;
      this.preface = true;
      return 24;
    }
    if (end - off < 9) return 0;
    const len = u24(b, off);
    const type = b[off + 3]!;
    const flags = b[off + 4]!;
    const sid = u32(b, off + 5) & 0x7fffffff;
    if (len >= MAX_FRAME) return -1;
    const total = 9 + len;
    if (type === 1 || type === 9) {
      if (end - off < total) return total > MAX_BLOCK ? -1 : 0;
      let p = off + 9;
      let e = off + total;
      if (type === 1) {
        if (flags & 0x8) {
          // No pad length byte in the frame: past it lie other bytes, or none (undefined).
          if (p >= e) return -1;
          const pad = b[p]!;
          p++;
          e -= pad;
        }
        if (flags & 0x20) p += 5;
        if (p > e) return -1;
        this.blockStream[dir] = sid;
        this.blockEnd[dir] = (flags & 1) !== 0;
        this.blockLen[dir] = 0;
      } else if (this.blockStream[dir] !== sid) return total;
      if ((flags & 4) !== 0 && this.blockLen[dir] === 0) {
        this.headers(ctx, dir, sid, b, p, e, this.blockEnd[dir]!);
      } else {
        // Accumulate fragments (bounded) until END_HEADERS.
        const need = this.blockLen[dir]! + (e - p);
        if (need > MAX_BLOCK) {
          this.blockLen[dir] = 0;
          return total;
        }
        let bb = this.block[dir];
        if (!bb || bb.length < need) {
          const nb = new Uint8Array(Math.max(need, 4096));
          if (bb) nb.set(bb.subarray(0, this.blockLen[dir]));
          bb = nb;
          this.block[dir] = bb;
        }
        bb.set(b.subarray(p, e), this.blockLen[dir]);
        this.blockLen[dir] = need;
        if (flags & 4) {
          this.blockLen[dir] = 0;
          this.headers(ctx, dir, sid, bb, 0, need, this.blockEnd[dir]!);
        }
      }
      return total;
    }
    if (type > 9 && type !== 0xa && type !== 0xc) return total; // extension frames
    if (type === 0 && sid !== 0) {
      const s = this.streams.get(sid);
      if (s) {
        if (dir === 0) s.reqLen += len;
        else s.respLen += len;
        if (flags & 1) this.endSide(ctx, dir, sid, s);
      }
      return total;
    }
    if (type === 3 && sid !== 0) {
      const s = this.streams.get(sid);
      // Its error code decides the row: a frame split after its header waits for it; one too
      // short to hold it is skipped (past it lie the next frame's bytes).
      if (s && len >= 4 && end - off < 13) return 0;
      if (s && len >= 4) {
        const code = u32(b, off + 9);
        if (!s.reqEmitted) this.emitRequest(ctx, sid, s);
        ctx.response({
          key: sid,
          protocol: s.grpc ? "grpc" : "http2",
          version: "2",
          status: code === 0 || code === 8 ? "ok" : "server_error",
          code: s.status,
          exception: `RST_STREAM ${code}`,
          length: s.respLen,
        });
        this.streams.delete(sid);
      }
      return total;
    }
    return total;
  }

  private stream(sid: number): Stream {
    let s = this.streams.get(sid);
    if (!s) {
      if (this.streams.size >= MAX_STREAMS) {
        const first = this.streams.keys().next().value as number;
        this.streams.delete(first);
      }
      s = newStream();
      this.streams.set(sid, s);
    }
    return s;
  }

  private headers(
    ctx: ParseContext,
    dir: 0 | 1,
    sid: number,
    b: Uint8Array,
    p: number,
    e: number,
    endStream: boolean,
  ): void {
    const s = this.stream(sid);
    const policy = ctx.headers;
    if (dir === 0) {
      if (!s.reqTs) {
        s.reqTs = ctx.ts;
        s.reqSeq = ctx.seq;
      }
      s.reqLen += e - p;
      this.hpack[0]!.decode(b, p, e, (n, v) => {
        if (n === ":method") s.method = v.slice(0, 16);
        else if (n === ":path") s.path = v.slice(0, 1024);
        else if (n === ":authority" || (n === "host" && !s.authority)) s.authority = v.slice(0, 256);
        else if (n === "content-type") s.grpc = v.startsWith("application/grpc");
        else policy.offer(s.trace, n, v);
      });
      if (endStream) this.endSide(ctx, 0, sid, s);
    } else {
      if (!s.respHeaders) {
        s.respHeaders = true;
        s.respTs = ctx.ts;
        s.respSeq = ctx.seq;
      }
      s.respLen += e - p;
      this.hpack[1]!.decode(b, p, e, (n, v) => {
        if (n === ":status") s.status = Number(v) || 0;
        else if (n === "grpc-status") s.grpcStatus = Number(v);
        else if (n === "grpc-message") s.grpcMessage = v.slice(0, 256);
        else if (n === "content-type" && v.startsWith("application/grpc")) s.grpc = true;
      });
      if (endStream) this.endSide(ctx, 1, sid, s);
    }
  }

  private emitRequest(ctx: ParseContext, sid: number, s: Stream): void {
    s.reqEmitted = true;
    const q = s.path.indexOf("?");
    ctx.request({
      key: sid,
      protocol: s.grpc ? "grpc" : "http2",
      version: "2",
      type: s.method,
      domain: s.authority,
      resource: s.path,
      endpoint: q >= 0 ? s.path.slice(0, q) : s.path,
      length: s.reqLen,
      trace: s.trace,
      ts: s.reqTs || ctx.ts,
      seq: s.reqTs ? s.reqSeq : ctx.seq,
    });
  }

  private endSide(ctx: ParseContext, dir: 0 | 1, sid: number, s: Stream): void {
    if (dir === 0) {
      if (!s.reqEmitted) this.emitRequest(ctx, sid, s);
      return;
    }
    if (!s.reqEmitted && (s.method || s.path)) this.emitRequest(ctx, sid, s);
    let status: ResponseStatus = statusOfCode(s.status);
    let code = s.status;
    let exception = "";
    if (s.grpc && s.grpcStatus >= 0) {
      code = s.grpcStatus;
      status =
        s.grpcStatus === 0 ? "ok" : GRPC_CLIENT_CODES.has(s.grpcStatus) ? "client_error" : "server_error";
      exception = s.grpcStatus === 0 ? "" : s.grpcMessage;
    } else if (s.status === 0) status = "unknown";
    ctx.response({
      key: sid,
      protocol: s.grpc ? "grpc" : "http2",
      version: "2",
      status,
      code,
      exception,
      length: s.respLen,
      ts: s.respTs || ctx.ts,
      seq: s.respHeaders ? s.respSeq : ctx.seq,
    });
    this.streams.delete(sid);
  }

  onGap(dir: 0 | 1): void {
    this.blockLen[dir] = 0;
  }
}

/** A chain of plausible frames filling [off, end), at least one HEADERS; 1/2 by its first field. */
function framesLookRight(b: Uint8Array, off: number, end: number): 0 | 1 | 2 {
  let p = off;
  let side: 0 | 1 | 2 = 0;
  let n = 0;
  while (p + 9 <= end && n < 16) {
    const len = u24(b, p);
    const type = b[p + 3]!;
    if (type > 9 || len > 16384 || (b[p + 5]! & 0x80) !== 0) return 0;
    if (type === 1 && side === 0 && len > 0) {
      let h = p + 9;
      const flags = b[p + 4]!;
      if (flags & 0x8) h++;
      if (flags & 0x20) h += 5;
      // Only a byte of this frame's block (priority or padding alone leave none).
      const c = h < p + 9 + len && h < end ? b[h]! : 0;
      if (c & 0x80) {
        const idx = c & 0x7f;
        side = idx >= 2 && idx <= 7 ? 1 : idx >= 8 && idx <= 14 ? 2 : 0;
      } else if ((c & 0xc0) === 0x40 || (c & 0xf0) === 0 || (c & 0xf0) === 0x10) {
        const idx = c & ((c & 0xc0) === 0x40 ? 0x3f : 0x0f);
        side = idx >= 2 && idx <= 7 ? 1 : idx >= 8 && idx <= 14 ? 2 : idx === 1 ? 1 : 0;
      }
    }
    p += 9 + len;
    n++;
  }
  return p === end ? side : 0;
}

export const http2: ProtocolSpec = {
  name: "http2",
  ports: [50051, 8443, 9090],
  transport: "tcp",
  detect(b, off, end) {
    if (
      end - off >= 16 &&
      b[off] === 0x50 &&
      b[off + 1] === 0x52 &&
      b[off + 2] === 0x49 &&
      b[off + 3] === 0x20
    ) {
      for (let i = 0; i < 16; i++) if (b[off + i] !== PREFACE.charCodeAt(i)) return 0;
      return 1;
    }
    return framesLookRight(b, off, end);
  },
  create: () => new Http2Parser(),
};

void u16;
