import { ipv6GroupsText } from "@flowplane/core/ipv6-text";

/**
 * The text of recently seen IPv4 addresses, direct-mapped by a hash of the address: flows of a
 * capture share few addresses, and a flow's rows ask for both of its own (L4 and L7 rows alike).
 * The same string each time also keeps its hash for the maps keyed by it.
 */
const V4_SLOTS = 4096;
const v4Key = new Int32Array(V4_SLOTS);
const v4Text: string[] = new Array<string>(V4_SLOTS).fill("");

function v4(w0: number): string {
  const i = Math.imul(w0, 0x9e3779b1) >>> 20;
  const t = v4Text[i]!;
  if (t !== "" && v4Key[i] === (w0 | 0)) return t;
  const text = `${w0 >>> 24}.${(w0 >>> 16) & 255}.${(w0 >>> 8) & 255}.${w0 & 255}`;
  v4Key[i] = w0;
  v4Text[i] = text;
  return text;
}

/** IP words → text (RFC 5952 for IPv6, as tshark and ClickHouse print it). Per flow, not per packet. */
export function ipText(ver: number, w0: number, w1: number, w2: number, w3: number): string {
  if (ver === 4) return v4(w0);
  if (ver !== 6) return "";
  const g = [w0 >>> 16, w0 & 0xffff, w1 >>> 16, w1 & 0xffff, w2 >>> 16, w2 & 0xffff, w3 >>> 16, w3 & 0xffff];
  // IPv4-mapped ::ffff:a.b.c.d
  if (w0 === 0 && w1 === 0 && w2 === 0xffff) return `::ffff:${ipText(4, w3, 0, 0, 0)}`;
  return ipv6GroupsText(g);
}
