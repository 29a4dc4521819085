/**
 * TLS (no decryption): ClientHello (SNI, offered version, supported_versions), ServerHello
 * (negotiated version), alerts. One row per handshake: ClientHello → ServerHello, so the
 * duration is the server's handshake time; encrypted records are skipped by their length.
 */
import { latin1, u16, u24 } from "../bytes.ts";
import type { L7Parser, ParseContext, ProtocolSpec } from "../types.ts";

const VERSIONS: Record<number, string> = {
  768: "SSL3.0",
  769: "TLS1.0",
  770: "TLS1.1",
  771: "TLS1.2",
  772: "TLS1.3",
};

function recordHeader(b: Uint8Array, o: number, end: number): boolean {
  if (end - o < 5) return false;
  const t = b[o]!;
  return t >= 20 && t <= 24 && b[o + 1] === 3 && b[o + 2]! <= 4 && u16(b, o + 3) <= 18432 + 2048;
}

interface Hello {
  version: number;
  sni: string;
}

/** Walks a Client/ServerHello body for the version and SNI. */
function hello(b: Uint8Array, o: number, end: number, client: boolean): Hello | null {
  if (o + 38 > end) return null;
  let version = u16(b, o);
  let p = o + 34;
  const sidLen = b[p]!;
  p += 1 + sidLen;
  if (client) {
    if (p + 2 > end) return null;
    p += 2 + u16(b, p);
    if (p + 1 > end) return null;
    p += 1 + b[p]!;
  } else {
    p += 3; // cipher suite + compression
  }
  let sni = "";
  if (p + 2 <= end) {
    const extEnd = Math.min(end, p + 2 + u16(b, p));
    p += 2;
    while (p + 4 <= extEnd) {
      const type = u16(b, p);
      const len = u16(b, p + 2);
      const d = p + 4;
      if (d + len > extEnd) break;
      if (type === 0 && client && len >= 5) {
        // server_name list: len(2) type(1)=host len(2) name
        const nl = u16(b, d + 3);
        if (b[d + 2] === 0 && d + 5 + nl <= d + len) sni = latin1(b, d + 5, d + 5 + nl, 255);
      } else if (type === 43) {
        // supported_versions: client lists (take the highest), server picks one.
        if (client) {
          let best = 0;
          for (let i = d + 1; i + 1 < d + 1 + b[d]! && i + 1 < d + len; i += 2) {
            const v = u16(b, i);
            if ((v & 0x0f0f) === v && v > best && v <= 0x0304) best = v;
          }
          if (best) version = best;
        } else if (len >= 2) version = u16(b, d);
      }
      p = d + len;
    }
  }
  return { version, sni };
}

class TlsParser implements L7Parser {
  private helloSeen = [false, false];

  parse(ctx: ParseContext, dir: 0 | 1, b: Uint8Array, off: number, end: number): number {
    if (end - off < 5) return 0;
    if (!recordHeader(b, off, end)) return -1;
    const len = u16(b, off + 3);
    const type = b[off]!;
    if (type === 22 && !this.helloSeen[dir]) {
      // The first handshake record of each side holds its Hello: wait for all of it.
      if (end - off < 5 + len) return len > 18432 ? -1 : 0;
      // A record too short for the handshake header reads none past itself.
      const ht = len > 0 ? b[off + 5]! : 0;
      const hl = len >= 4 ? u24(b, off + 6) : 0;
      const body = off + 9;
      const hend = Math.min(off + 5 + len, body + hl);
      if (dir === 0 && ht === 1) {
        this.helloSeen[0] = true;
        const h = hello(b, body, hend, true);
        ctx.request({
          version: h ? (VERSIONS[h.version] ?? "") : "",
          type: "ClientHello",
          domain: h?.sni ?? "",
          resource: h?.sni ?? "",
          endpoint: h?.sni ?? "",
          length: 5 + len,
        });
      } else if (dir === 1 && ht === 2) {
        this.helloSeen[1] = true;
        const h = hello(b, body, hend, false);
        ctx.response({ version: h ? (VERSIONS[h.version] ?? "") : "", status: "ok", length: 5 + len });
      }
    } else if (type === 21 && len >= 2 && end - off >= 7 && dir === 1 && !this.helloSeen[1]) {
      // (An alert is two bytes, level and description: a shorter record has no description.)
      // A fatal alert instead of a ServerHello: the handshake failed.
      const desc = b[off + 6]!;
      this.helloSeen[1] = true;
      ctx.response({ status: "server_error", code: desc, exception: `alert ${desc}`, length: 5 + len });
    }
    return 5 + len;
  }

  onGap(): void {}
}

export const tls: ProtocolSpec = {
  name: "tls",
  ports: [443, 8443, 993, 995, 465, 636, 853, 6443],
  transport: "tcp",
  detect(b, off, end) {
    if (!recordHeader(b, off, end) || b[off] !== 22 || end - off < 6) return 0;
    const ht = b[off + 5];
    return ht === 1 ? 1 : ht === 2 ? 2 : 0;
  },
  create: () => new TlsParser(),
};
