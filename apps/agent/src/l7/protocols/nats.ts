/**
 * NATS client protocol (text): INFO, CONNECT (user/pass/token never read), PUB/HPUB and
 * MSG/HMSG (subject; payloads skipped by their size), SUB, UNSUB, PING ↔ PONG, +OK, -ERR.
 * Messages are one-way rows; -ERR becomes an error row; +OK (verbose mode) is not a row.
 */
import { findCrlf, latin1 } from "../bytes.ts";
import type { L7Parser, ParseContext, ProtocolSpec } from "../types.ts";

const MAX_LINE = 64 * 1024;

function same(b: Uint8Array, off: number, sig: readonly number[]): boolean {
  // Letters in any case, CR LF exactly.
  for (let i = 0; i < sig.length; i++) {
    const x = b[off + i] ?? 0;
    const y = sig[i]!;
    if (x !== y && (y < 65 || (x | 0x20) !== (y | 0x20))) return false;
  }
  return true;
}

class NatsParser implements L7Parser {
  parse(ctx: ParseContext, dir: 0 | 1, b: Uint8Array, off: number, end: number): number {
    const eol = findCrlf(b, off, end);
    if (eol < 0) return end - off > MAX_LINE ? -1 : 0;
    const lineLen = eol + 2 - off;
    const head = latin1(b, off, Math.min(eol, off + 8)).toUpperCase();
    if (head.startsWith("PING")) {
      ctx.request({ key: dir, type: "PING", length: lineLen });
      return lineLen;
    }
    if (head.startsWith("PONG")) {
      ctx.response({ key: dir ^ 1, status: "ok", length: lineLen });
      return lineLen;
    }
    if (head.startsWith("+OK")) return lineLen;
    if (head.startsWith("-ERR")) {
      ctx.response({
        key: -1,
        status: "client_error",
        exception: latin1(b, off + 5, eol, 256).replace(/'/g, ""),
        length: lineLen,
      });
      return lineLen;
    }
    // INFO is the server's greeting, not a request: no row.
    if (head.startsWith("INFO")) return lineLen;
    if (head.startsWith("CONNECT")) {
      ctx.request({ oneWay: true, type: "CONNECT", length: lineLen });
      return lineLen;
    }
    const words = latin1(b, off, eol, 1024)
      .split(" ")
      .filter((w) => w.length > 0);
    const verb = (words[0] ?? "").toUpperCase();
    switch (verb) {
      case "PUB":
      case "MSG":
      case "HPUB":
      case "HMSG": {
        const size = Number(words[words.length - 1]);
        if (!Number.isInteger(size) || size < 0 || size > 64 * 1024 * 1024) return -1;
        const subject = words[1] ?? "";
        ctx.request({
          oneWay: true,
          type: verb,
          domain: subject,
          resource: subject,
          endpoint: subject,
          length: lineLen + size + 2,
        });
        return lineLen + size + 2;
      }
      case "SUB":
      case "UNSUB": {
        const subject = verb === "SUB" ? (words[1] ?? "") : "";
        ctx.request({
          oneWay: true,
          type: verb,
          domain: subject,
          resource: subject,
          endpoint: subject,
          length: lineLen,
        });
        return lineLen;
      }
    }
    return -1;
  }
}

const VERBS = ["INFO {", "CONNECT {", "PUB ", "SUB ", "HPUB ", "MSG "];
const PING = [80, 73, 78, 71, 13, 10];
const PONG = [80, 79, 78, 71, 13, 10];

export const nats: ProtocolSpec = {
  name: "nats",
  ports: [4222, 6222],
  transport: "tcp",
  detect(b, off, end, _udp, hinted) {
    // A bare PING is also Redis's inline PING (redis-benchmark sends millions): it makes a NATS
    // flow only on a NATS port. A NATS session otherwise opens with INFO/CONNECT, and NATS
    // answers PONG where Redis answers +PONG.
    if (end - off === 6) {
      if (hinted && same(b, off, PING)) return 1;
      if (same(b, off, PONG)) return 2;
    }
    // Cheap first-byte gate: every verb starts with one of C, H, I, M, P, S (any case).
    const c = (b[off] ?? 0) | 0x20;
    if (c !== 0x63 && c !== 0x68 && c !== 0x69 && c !== 0x6d && c !== 0x70 && c !== 0x73) return 0;
    const head = latin1(b, off, Math.min(end, off + 10)).toUpperCase();
    for (const v of VERBS) if (head.startsWith(v)) return v === "INFO {" || v === "MSG " ? 2 : 1;
    return 0;
  },
  create: () => new NatsParser(),
};
