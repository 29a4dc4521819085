/** IPv4 text (also `::ffff:a.b.c.d`) → unsigned 32-bit number, or undefined for anything else. */
export function ipv4ToNumber(ip: string): number | undefined {
  // Hand-rolled: this runs twice per ingested row; split/Number allocate.
  let i = ip.startsWith("::ffff:") ? 7 : 0;
  let n = 0;
  for (let part = 0; part < 4; part++) {
    let v = 0;
    let digits = 0;
    while (i < ip.length) {
      const c = ip.charCodeAt(i);
      if (c < 48 || c > 57) break;
      v = v * 10 + (c - 48);
      digits++;
      i++;
    }
    if (digits === 0 || digits > 3 || v > 255) return undefined;
    n = n * 256 + v;
    if (part < 3) {
      if (ip.charCodeAt(i) !== 46) return undefined;
      i++;
    }
  }
  return i === ip.length ? n : undefined;
}

/** The key IPs are compared by: IPv4 (mapped or not) as dotted text, IPv6 lower-cased. */
export function normaliseIp(ip: string): string {
  const c = ip.charCodeAt(0);
  // Plain IPv4 (the common case) is already normal.
  if (c >= 48 && c <= 57 && ip.indexOf(":") < 0) return ip;
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
