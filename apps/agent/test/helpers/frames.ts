/** Hand-built frames and capture files for decoder and reader tests. */
type Bytes = number[] | Uint8Array;

const cat = (...parts: Bytes[]): Uint8Array => {
  const n = parts.reduce((s, p) => s + p.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};
const be16 = (v: number) => [(v >> 8) & 255, v & 255];
const be32 = (v: number) => [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
export const ip4 = (s: string) => s.split(".").map(Number);
export function ip6(s: string): number[] {
  const [head, tail] = s.includes("::") ? s.split("::") : [s, undefined];
  const h = head ? head.split(":").filter(Boolean) : [];
  const t = tail ? tail.split(":").filter(Boolean) : [];
  const groups = [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
  return groups.flatMap((g) => be16(Number.parseInt(g, 16)));
}

export const MAC_A = [0, 1, 2, 3, 4, 5];
export const MAC_B = [0, 1, 2, 3, 4, 6];

export function eth(type: number, payload: Bytes, vlans: { tpid: number; id: number }[] = []): Uint8Array {
  const parts: Bytes[] = [MAC_B, MAC_A];
  for (const v of vlans) parts.push(be16(v.tpid), be16(v.id));
  parts.push(be16(type), payload);
  return cat(...parts);
}

export function mpls(labels: number[], payload: Bytes): Uint8Array {
  const parts: Bytes[] = labels.map((l, i) =>
    be32(((l << 12) | (i === labels.length - 1 ? 0x100 : 0) | 64) >>> 0),
  );
  return cat(...parts, payload);
}

export interface Ipv4Opts {
  id?: number;
  fragOffset?: number;
  mf?: boolean;
  options?: number[];
  totalLength?: number;
}
export function ipv4(proto: number, src: string, dst: string, payload: Bytes, o: Ipv4Opts = {}): Uint8Array {
  const opt = o.options ?? [];
  const hl = 20 + opt.length;
  const total = o.totalLength ?? hl + payload.length;
  const ff = ((o.mf ? 0x2000 : 0) | ((o.fragOffset ?? 0) >> 3)) & 0xffff;
  return cat(
    [0x40 | (hl / 4), 0, ...be16(total), ...be16(o.id ?? 1), ...be16(ff), 64, proto, 0, 0],
    ip4(src),
    ip4(dst),
    opt,
    payload,
  );
}

/** ext: list of [type, bytes] extension headers in order; `next` of each is filled in. */
export function ipv6(
  proto: number,
  src: string,
  dst: string,
  payload: Bytes,
  ext: [number, number[]][] = [],
): Uint8Array {
  const types = [...ext.map((e) => e[0]), proto];
  const exts = ext.map(([, body], i) => {
    const b = [...body];
    b[0] = types[i + 1] as number;
    return b;
  });
  const extBytes = exts.flat();
  return cat(
    [0x60, 0, 0, 0, ...be16(extBytes.length + payload.length), types[0] as number, 64],
    ip6(src),
    ip6(dst),
    extBytes,
    payload,
  );
}
/** Hop-by-hop / destination options of 8 bytes (padding only). */
export const optsHeader = (): number[] => [0, 0, 1, 4, 0, 0, 0, 0];
/** Routing header type 0 with no addresses (8 bytes). */
export const routingHeader = (): number[] => [0, 0, 0, 0, 0, 0, 0, 0];
export const fragHeader = (offset: number, more: boolean, id: number): number[] => [
  0,
  0,
  ...be16((offset & ~7) | (more ? 1 : 0)),
  ...be32(id),
];
/** AH with a 12-byte ICV: payload length field = (12+12)/4 - 2 = 4. */
export const ahHeader = (): number[] => [0, 4, 0, 0, ...be32(0x100), ...be32(1), ...Array(12).fill(0)];

export interface TcpOpts {
  seq?: number;
  ack?: number;
  flags?: number;
  window?: number;
  options?: number[];
}
export function tcp(sport: number, dport: number, payload: Bytes = [], o: TcpOpts = {}): Uint8Array {
  const opt = [...(o.options ?? [])];
  while (opt.length % 4) opt.push(1);
  const hl = 20 + opt.length;
  return cat(
    [
      ...be16(sport),
      ...be16(dport),
      ...be32(o.seq ?? 1000),
      ...be32(o.ack ?? 0),
      (hl / 4) << 4,
      o.flags ?? 0x10,
    ],
    [...be16(o.window ?? 65535), 0, 0, 0, 0],
    opt,
    payload,
  );
}
export const TCP_OPT_MSS = (v: number) => [2, 4, ...be16(v)];
export const TCP_OPT_WSCALE = (v: number) => [3, 3, v];
export const TCP_OPT_SACK_PERM = [4, 2];
export const TCP_OPT_TS = (a: number, b: number) => [8, 10, ...be32(a), ...be32(b)];
export const TCP_OPT_SACK = (blocks: [number, number][]) => [
  5,
  2 + 8 * blocks.length,
  ...blocks.flatMap(([l, r]) => [...be32(l), ...be32(r)]),
];

export function udp(sport: number, dport: number, payload: Bytes = []): Uint8Array {
  return cat([...be16(sport), ...be16(dport), ...be16(8 + payload.length), 0, 0], payload);
}
export const icmpEcho = (type = 8): Uint8Array => new Uint8Array([type, 0, 0, 0, 0, 1, 0, 1, 1, 2, 3, 4]);

export const vxlan = (vni: number, inner: Bytes) =>
  cat([0x08, 0, 0, 0, (vni >> 16) & 255, (vni >> 8) & 255, vni & 255, 0], inner);
export const geneve = (vni: number, proto: number, inner: Bytes, optWords = 0) =>
  cat(
    [optWords & 0x3f, 0, ...be16(proto), (vni >> 16) & 255, (vni >> 8) & 255, vni & 255, 0],
    Array(optWords * 4).fill(0),
    inner,
  );
export function gre(
  proto: number,
  inner: Bytes,
  o: { key?: number; seq?: number; csum?: boolean } = {},
): Uint8Array {
  const flags =
    (o.csum ? 0x8000 : 0) | (o.key !== undefined ? 0x2000 : 0) | (o.seq !== undefined ? 0x1000 : 0);
  return cat(
    [...be16(flags), ...be16(proto)],
    o.csum ? [0, 0, 0, 0] : [],
    o.key !== undefined ? be32(o.key) : [],
    o.seq !== undefined ? be32(o.seq) : [],
    inner,
  );
}
export const erspan2 = (session: number, inner: Bytes) =>
  cat([0x10, 0, ...be16(session & 0x3ff), 0, 0, 0, 0], inner);
export const erspan3 = (session: number, inner: Bytes, platform = false) =>
  cat(
    [0x20, 0, ...be16(session & 0x3ff), 0, 0, 0, 0, 0, 0, 0, platform ? 1 : 0],
    platform ? Array(8).fill(0) : [],
    inner,
  );

export const sll = (proto: number, payload: Bytes) =>
  cat([0, 0, 0, 1, 0, 6, ...MAC_A, 0, 0, ...be16(proto)], payload);
export const sll2 = (proto: number, payload: Bytes) =>
  cat([...be16(proto), 0, 0, 0, 0, 0, 1, 0, 1, 0, 6, ...MAC_A, 0, 0], payload);
export const nullLink = (family: number, payload: Bytes, le = true) =>
  cat(le ? [family & 255, (family >> 8) & 255, 0, 0] : be32(family), payload);

export interface PcapRecord {
  data: Uint8Array;
  tsMicros: number;
  origLen?: number;
}
export function pcapFile(
  linkType: number,
  recs: PcapRecord[],
  o: { be?: boolean; nanos?: boolean } = {},
): Buffer {
  const w32 = (b: Buffer, v: number, off: number) =>
    o.be ? b.writeUInt32BE(v >>> 0, off) : b.writeUInt32LE(v >>> 0, off);
  const w16 = (b: Buffer, v: number, off: number) =>
    o.be ? b.writeUInt16BE(v, off) : b.writeUInt16LE(v, off);
  const h = Buffer.alloc(24);
  w32(h, o.nanos ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  w16(h, 2, 4);
  w16(h, 4, 6);
  w32(h, 262144, 16);
  w32(h, linkType, 20);
  const parts = [h];
  for (const r of recs) {
    const rh = Buffer.alloc(16);
    w32(rh, Math.floor(r.tsMicros / 1e6), 0);
    w32(rh, o.nanos ? (r.tsMicros % 1e6) * 1000 : r.tsMicros % 1e6, 4);
    w32(rh, r.data.length, 8);
    w32(rh, r.origLen ?? r.data.length, 12);
    parts.push(rh, Buffer.from(r.data));
  }
  return Buffer.concat(parts);
}

export interface NgIface {
  linkType: number;
  tsresol?: number;
}
export type NgBlock =
  | { kind: "epb"; iface: number; data: Uint8Array; ts: bigint; origLen?: number }
  | { kind: "spb"; data: Uint8Array }
  | { kind: "unknown"; type: number };
export function pcapngFile(ifaces: NgIface[], blocks: NgBlock[], o: { be?: boolean } = {}): Buffer {
  const le = !o.be;
  const block = (type: number, body: Buffer) => {
    const pad = (4 - (body.length % 4)) % 4;
    const total = 12 + body.length + pad;
    const b = Buffer.alloc(total);
    if (le) {
      b.writeUInt32LE(type, 0);
      b.writeUInt32LE(total, 4);
      b.writeUInt32LE(total, total - 4);
    } else {
      b.writeUInt32BE(type, 0);
      b.writeUInt32BE(total, 4);
      b.writeUInt32BE(total, total - 4);
    }
    body.copy(b, 8);
    return b;
  };
  const u32 = (v: number) => {
    const b = Buffer.alloc(4);
    le ? b.writeUInt32LE(v >>> 0) : b.writeUInt32BE(v >>> 0);
    return b;
  };
  const u16 = (v: number) => {
    const b = Buffer.alloc(2);
    le ? b.writeUInt16LE(v) : b.writeUInt16BE(v);
    return b;
  };
  const parts: Buffer[] = [];
  parts.push(
    block(
      0x0a0d0d0a,
      Buffer.concat([u32(0x1a2b3c4d), u16(1), u16(0), Buffer.from([255, 255, 255, 255, 255, 255, 255, 255])]),
    ),
  );
  for (const i of ifaces) {
    const opts: Buffer[] = [];
    if (i.tsresol !== undefined) opts.push(u16(9), u16(1), Buffer.from([i.tsresol, 0, 0, 0]));
    opts.push(u16(0), u16(0));
    parts.push(block(1, Buffer.concat([u16(i.linkType), u16(0), u32(0), ...opts])));
  }
  for (const bl of blocks) {
    if (bl.kind === "epb") {
      const d = Buffer.from(bl.data);
      const pad = Buffer.alloc((4 - (d.length % 4)) % 4);
      parts.push(
        block(
          6,
          Buffer.concat([
            u32(bl.iface),
            u32(Number(bl.ts >> 32n)),
            u32(Number(bl.ts & 0xffffffffn)),
            u32(d.length),
            u32(bl.origLen ?? d.length),
            d,
            pad,
          ]),
        ),
      );
    } else if (bl.kind === "spb") {
      const d = Buffer.from(bl.data);
      parts.push(block(3, Buffer.concat([u32(d.length), d, Buffer.alloc((4 - (d.length % 4)) % 4)])));
    } else parts.push(block(bl.type, Buffer.alloc(8)));
  }
  return Buffer.concat(parts);
}
