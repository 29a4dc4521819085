/**
 * HPACK decoder (RFC 7541): static and dynamic tables, integer and Huffman string decoding,
 * table size updates. One decoder per direction per connection; every header block must pass
 * through it in order or the dynamic table desynchronises (the caller stops decoding after a
 * gap). Bounded: table size ≤ 64 KiB, strings ≤ 16 KiB, headers per block ≤ 256.
 */
import { HUFFMAN_CODES, HUFFMAN_LENGTHS } from "./hpack-huffman-table.ts";

const STATIC: [string, string][] = [
  ["", ""],
  [":authority", ""],
  [":method", "GET"],
  [":method", "POST"],
  [":path", "/"],
  [":path", "/index.html"],
  [":scheme", "http"],
  [":scheme", "https"],
  [":status", "200"],
  [":status", "204"],
  [":status", "206"],
  [":status", "304"],
  [":status", "400"],
  [":status", "404"],
  [":status", "500"],
  ["accept-charset", ""],
  ["accept-encoding", "gzip, deflate"],
  ["accept-language", ""],
  ["accept-ranges", ""],
  ["accept", ""],
  ["access-control-allow-origin", ""],
  ["age", ""],
  ["allow", ""],
  ["authorization", ""],
  ["cache-control", ""],
  ["content-disposition", ""],
  ["content-encoding", ""],
  ["content-language", ""],
  ["content-length", ""],
  ["content-location", ""],
  ["content-range", ""],
  ["content-type", ""],
  ["cookie", ""],
  ["date", ""],
  ["etag", ""],
  ["expect", ""],
  ["expires", ""],
  ["from", ""],
  ["host", ""],
  ["if-match", ""],
  ["if-modified-since", ""],
  ["if-none-match", ""],
  ["if-range", ""],
  ["if-unmodified-since", ""],
  ["last-modified", ""],
  ["link", ""],
  ["location", ""],
  ["max-forwards", ""],
  ["proxy-authenticate", ""],
  ["proxy-authorization", ""],
  ["range", ""],
  ["referer", ""],
  ["refresh", ""],
  ["retry-after", ""],
  ["server", ""],
  ["set-cookie", ""],
  ["strict-transport-security", ""],
  ["transfer-encoding", ""],
  ["user-agent", ""],
  ["vary", ""],
  ["via", ""],
  ["www-authenticate", ""],
];

const MAX_TABLE = 64 * 1024;
const MAX_STRING = 16 * 1024;
const MAX_HEADERS = 256;

// Decode tree over bits: node i has children at tree[2i], tree[2i+1]; leaves are -(sym+1).
const tree = new Int32Array(2 * 600).fill(0);
let nodes = 1;
for (let sym = 0; sym < 256; sym++) {
  const code = HUFFMAN_CODES[sym]!;
  const len = HUFFMAN_LENGTHS[sym]!;
  let n = 0;
  for (let i = len - 1; i >= 0; i--) {
    const bit = Math.floor(code / 2 ** i) % 2;
    const slot = 2 * n + bit;
    if (i === 0) tree[slot] = -(sym + 1);
    else {
      if (tree[slot] === 0) tree[slot] = nodes++;
      n = tree[slot]!;
    }
  }
}

export function huffmanDecode(b: Uint8Array, s: number, e: number): string | null {
  let out = "";
  let n = 0;
  let depth = 0;
  for (let i = s; i < e; i++) {
    const byte = b[i]!;
    for (let k = 7; k >= 0; k--) {
      const next = tree[2 * n + ((byte >> k) & 1)]!;
      if (next < 0) {
        out += String.fromCharCode(-next - 1);
        n = 0;
        depth = 0;
      } else if (next === 0) return null;
      else {
        n = next;
        depth++;
      }
    }
  }
  // Padding: at most 7 bits, all ones (a prefix of EOS).
  return depth <= 7 ? out : null;
}

export type HeaderSink = (name: string, value: string) => void;

export class HpackDecoder {
  private dyn: [string, string][] = [];
  private size = 0;
  private maxSize = 4096;
  broken = false;

  private int(b: Uint8Array, o: number, e: number, prefix: number): [number, number] | null {
    const mask = (1 << prefix) - 1;
    let v = b[o]! & mask;
    o++;
    if (v < mask) return [v, o];
    let m = 0;
    while (o < e) {
      const c = b[o++]!;
      v += (c & 127) * 2 ** m;
      m += 7;
      if ((c & 128) === 0) return [v, o];
      if (m > 28) return null;
    }
    return null;
  }

  private str(b: Uint8Array, o: number, e: number): [string, number] | null {
    if (o >= e) return null;
    const huff = (b[o]! & 0x80) !== 0;
    const l = this.int(b, o, e, 7);
    if (l === null || l[0] > MAX_STRING || l[1] + l[0] > e) return null;
    const s = l[1];
    const v = huff ? huffmanDecode(b, s, s + l[0]) : Buffer.prototype.latin1Slice.call(b, s, s + l[0]);
    if (v === null) return null;
    return [v, s + l[0]];
  }

  private entry(i: number): [string, string] | null {
    if (i <= 0) return null;
    if (i < STATIC.length) return STATIC[i]!;
    return this.dyn[i - STATIC.length] ?? null;
  }

  private add(name: string, value: string): void {
    const sz = name.length + value.length + 32;
    this.dyn.unshift([name, value]);
    this.size += sz;
    this.evict();
  }

  private evict(): void {
    while (this.size > this.maxSize && this.dyn.length > 0) {
      const [n, v] = this.dyn.pop()!;
      this.size -= n.length + v.length + 32;
    }
  }

  /** Decodes one complete header block; false (and `broken`) on malformed input. */
  decode(b: Uint8Array, o: number, e: number, sink: HeaderSink): boolean {
    let count = 0;
    while (o < e) {
      if (++count > MAX_HEADERS) return this.fail();
      const c = b[o]!;
      if (c & 0x80) {
        const r = this.int(b, o, e, 7);
        if (!r) return this.fail();
        // An index past the table happens when decoding started mid-connection: skip it.
        const en = this.entry(r[0]);
        if (en) sink(en[0], en[1]);
        o = r[1];
      } else if ((c & 0xe0) === 0x20) {
        const r = this.int(b, o, e, 5);
        if (!r || r[0] > MAX_TABLE) return this.fail();
        this.maxSize = r[0];
        this.evict();
        o = r[1];
      } else {
        // Literal: with incremental indexing (01), without (0000), never indexed (0001).
        const incr = (c & 0xc0) === 0x40;
        const r = this.int(b, o, e, incr ? 6 : 4);
        if (!r) return this.fail();
        let name: string;
        o = r[1];
        if (r[0] === 0) {
          const n = this.str(b, o, e);
          if (!n) return this.fail();
          name = n[0];
          o = n[1];
        } else {
          name = this.entry(r[0])?.[0] ?? "";
        }
        const v = this.str(b, o, e);
        if (!v) return this.fail();
        o = v[1];
        if (incr) this.add(name, v[0]);
        sink(name, v[0]);
      }
    }
    return true;
  }

  private fail(): boolean {
    this.broken = true;
    return false;
  }
}
