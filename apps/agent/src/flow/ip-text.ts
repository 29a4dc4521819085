import { ipv6GroupsText } from "@flowplane/core/ipv6-text";

/** IP words → text (RFC 5952 for IPv6, as tshark and ClickHouse print it). Per flow, not per packet. */
export function ipText(ver: number, w0: number, w1: number, w2: number, w3: number): string {
  if (ver === 4) return `${w0 >>> 24}.${(w0 >>> 16) & 255}.${(w0 >>> 8) & 255}.${w0 & 255}`;
  if (ver !== 6) return "";
  const g = [w0 >>> 16, w0 & 0xffff, w1 >>> 16, w1 & 0xffff, w2 >>> 16, w2 & 0xffff, w3 >>> 16, w3 & 0xffff];
  // IPv4-mapped ::ffff:a.b.c.d
  if (w0 === 0 && w1 === 0 && w2 === 0xffff) return `::ffff:${ipText(4, w3, 0, 0, 0)}`;
  return ipv6GroupsText(g);
}
