/**
 * DNS over UDP and TCP (2-byte length prefix): query name and type, rcode, answer count.
 * Requests and responses pair on the transaction id. A query that is never answered becomes a
 * timeout row through the processor's clock.
 */
import { u16 } from "../bytes.ts";
import type { L7Parser, ParseContext, ProtocolSpec, ResponseStatus } from "../types.ts";

const QTYPES: Record<number, string> = {
  1: "A",
  2: "NS",
  5: "CNAME",
  6: "SOA",
  12: "PTR",
  15: "MX",
  16: "TXT",
  28: "AAAA",
  33: "SRV",
  35: "NAPTR",
  41: "OPT",
  43: "DS",
  46: "RRSIG",
  47: "NSEC",
  48: "DNSKEY",
  64: "SVCB",
  65: "HTTPS",
  99: "SPF",
  252: "AXFR",
  255: "ANY",
  257: "CAA",
};

/** Reads a (possibly compressed) name; returns [name, offset after it in the message] or null. */
function readName(b: Uint8Array, base: number, o: number, end: number): [string, number] | null {
  let name = "";
  let after = -1;
  let jumps = 0;
  while (o < end) {
    const l = b[o]!;
    if (l === 0) {
      if (after < 0) after = o + 1;
      return [name, after];
    }
    if ((l & 0xc0) === 0xc0) {
      if (o + 1 >= end || ++jumps > 16) return null;
      if (after < 0) after = o + 2;
      o = base + (((l & 0x3f) << 8) | b[o + 1]!);
      continue;
    }
    if (l > 63 || o + 1 + l > end) return null;
    if (name.length < 255) {
      for (let i = o + 1; i <= o + l; i++) name += String.fromCharCode(b[i]!);
      name += ".";
    }
    o += 1 + l;
  }
  return null;
}

/** Plausible DNS header at [o, end): one question (or a response), sane counts. */
function plausible(b: Uint8Array, o: number, end: number): 0 | 1 | 2 {
  if (end - o < 17) return 0;
  const flags = u16(b, o + 2);
  const opcode = (flags >> 11) & 15;
  const qd = u16(b, o + 4);
  const an = u16(b, o + 6);
  const ns = u16(b, o + 8);
  const ar = u16(b, o + 10);
  if (opcode > 5 || qd !== 1 || an > 256 || ns > 256 || ar > 256) return 0;
  if ((flags & 0x0040) !== 0) return 0; // Z bit
  const q = readName(b, o, o + 12, end);
  if (q === null || q[1] + 4 > end) return 0;
  const qr = flags >> 15;
  if (!qr && an !== 0) return 0;
  return qr ? 2 : 1;
}

function rcodeStatus(rcode: number): ResponseStatus {
  if (rcode === 0) return "ok";
  // FORMERR, NXDOMAIN, NOTIMP... are the client's; SERVFAIL and REFUSED the server's.
  if (rcode === 2 || rcode === 5) return "server_error";
  return "client_error";
}

export class DnsMessages {
  handle(ctx: ParseContext, b: Uint8Array, o: number, end: number, len: number): boolean {
    if (end - o < 12) return false;
    const id = u16(b, o);
    const flags = u16(b, o + 2);
    const qd = u16(b, o + 4);
    const an = u16(b, o + 6);
    let name = "";
    let type = "";
    if (qd > 0) {
      const q = readName(b, o, o + 12, end);
      if (q === null) return false;
      name = q[0].endsWith(".") ? q[0].slice(0, -1) : q[0];
      if (q[1] + 4 <= end) {
        const t = u16(b, q[1]);
        type = QTYPES[t] ?? String(t);
      }
    }
    if ((flags & 0x8000) === 0) {
      ctx.request({ key: id, type, domain: name, resource: name, endpoint: name, length: len });
    } else {
      const rcode = flags & 15;
      ctx.response({
        key: id,
        status: rcodeStatus(rcode),
        code: rcode,
        exception: rcode === 3 ? "NXDOMAIN" : rcode === 2 ? "SERVFAIL" : rcode === 5 ? "REFUSED" : "",
        length: len,
        type,
        domain: name,
        resource: name,
        endpoint: name,
      });
      // No column holds the answer count; an empty answer to a successful query is still ok.
      void an;
    }
    return true;
  }
}

class DnsParser implements L7Parser {
  private readonly m = new DnsMessages();
  constructor(private readonly tcp: boolean) {}
  parse(ctx: ParseContext, _dir: 0 | 1, b: Uint8Array, off: number, end: number): number {
    if (!this.tcp) return this.m.handle(ctx, b, off, end, end - off) ? end - off : -1;
    if (end - off < 2) return 0;
    const len = u16(b, off);
    if (len < 12) return -1;
    if (end - off < 2 + len) return 0;
    return this.m.handle(ctx, b, off + 2, off + 2 + len, len) ? 2 + len : -1;
  }
}

export const dns: ProtocolSpec = {
  name: "dns",
  ports: [53],
  // NetBIOS name service, mDNS and LLMNR reuse the format but are other protocols (as in tshark).
  excludePorts: [137, 5353, 5355],
  transport: "both",
  detect(b, off, end, udp) {
    if (udp) return plausible(b, off, end);
    if (end - off < 2) return 0;
    const len = u16(b, off);
    if (len < 17 || len > end - off - 2 + 16384) return 0;
    return plausible(b, off + 2, Math.min(end, off + 2 + len));
  },
  create: (udp) => new DnsParser(!udp),
};
