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

/** "10.0.0.0/16" → { net, len } (IPv4; IPv6 prefixes: parseCidrV6). */
export function parseCidrV4(cidr: string): { net: number; len: number } | undefined {
  const [addr, lenText] = cidr.split("/");
  const n = addr ? ipv4ToNumber(addr) : undefined;
  const len = Number(lenText);
  if (n === undefined || !Number.isInteger(len) || len < 0 || len > 32) return undefined;
  return { net: maskV4(n, len), len };
}

const ALL_V6 = (1n << 128n) - 1n;

/**
 * IPv6 text → 128-bit value, or undefined when it is not IPv6 (IPv4, mapped IPv4 and junk). Takes
 * `::` compression and an embedded IPv4 tail; only rows with IPv6 addresses pay for it.
 */
export function ipv6ToBigInt(ip: string): bigint | undefined {
  const text = ip.trim().toLowerCase();
  if (!text.includes(":") || (text.startsWith("::ffff:") && text.includes("."))) return undefined;
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groups = (part: string | undefined): number[] | undefined => {
    if (!part) return [];
    const out: number[] = [];
    const items = part.split(":");
    for (let i = 0; i < items.length; i++) {
      const g = items[i] as string;
      if (i === items.length - 1 && g.includes(".")) {
        const v4 = ipv4ToNumber(g);
        if (v4 === undefined) return undefined;
        out.push(v4 >>> 16, v4 & 0xffff);
      } else {
        if (!/^[0-9a-f]{1,4}$/.test(g)) return undefined;
        out.push(Number.parseInt(g, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (!head || !tail) return undefined;
  const fill = 8 - head.length - tail.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) return undefined;
  let v = 0n;
  for (const g of [...head, ...new Array<number>(fill).fill(0), ...tail]) v = (v << 16n) | BigInt(g);
  return v;
}

export function maskV6(v: bigint, len: number): bigint {
  return v & (ALL_V6 ^ ((1n << BigInt(128 - len)) - 1n));
}

/** "2001:db8::/32" → { net, len } (IPv6 only). */
export function parseCidrV6(cidr: string): { net: bigint; len: number } | undefined {
  const [addr, lenText] = cidr.split("/");
  const v = addr ? ipv6ToBigInt(addr) : undefined;
  const len = Number(lenText);
  if (v === undefined || !Number.isInteger(len) || len < 0 || len > 128) return undefined;
  return { net: maskV6(v, len), len };
}
