/** IPv4 text (also `::ffff:a.b.c.d`) → unsigned 32-bit number, or undefined for anything else. */
export function ipv4ToNumber(ip: string): number | undefined {
  const text = ip.startsWith("::ffff:") ? ip.slice(7) : ip;
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (p === "" || p.length > 3) return undefined;
    const v = Number(p);
    if (!Number.isInteger(v) || v < 0 || v > 255) return undefined;
    n = n * 256 + v;
  }
  return n;
}

/** The key IPs are compared by: IPv4 (mapped or not) as dotted text, IPv6 lower-cased. */
export function normaliseIp(ip: string): string {
  const lower = ip.trim().toLowerCase();
  return lower.startsWith("::ffff:") && lower.includes(".") ? lower.slice(7) : lower;
}

export function maskV4(n: number, len: number): number {
  if (len === 0) return 0;
  // >>> 0 keeps it unsigned; shifting by 32 is a no-op in JS, hence the len 0 case above.
  return (n & (0xffffffff << (32 - len))) >>> 0;
}

/** "10.0.0.0/16" → { net, len } (IPv4 only; IPv6 prefixes are not matched yet). */
export function parseCidrV4(cidr: string): { net: number; len: number } | undefined {
  const [addr, lenText] = cidr.split("/");
  const n = addr ? ipv4ToNumber(addr) : undefined;
  const len = Number(lenText);
  if (n === undefined || !Number.isInteger(len) || len < 0 || len > 32) return undefined;
  return { net: maskV4(n, len), len };
}
