/**
 * Eight 16-bit groups of an IPv6 address → RFC 5952 text, as tshark and ClickHouse print it:
 * lower-case hex without leading zeros, the longest run of two or more zero groups (the first on
 * a tie) as "::".
 */
export function ipv6GroupsText(g: readonly number[]): string {
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (best < 0) return hex.join(":");
  return `${hex.slice(0, best).join(":")}::${hex.slice(best + bestLen).join(":")}`;
}
