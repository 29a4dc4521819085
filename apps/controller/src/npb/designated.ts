/**
 * The designated-capture-point map (docs/packet-broker.md, "Rule 1"): which agent forwards the
 * packets of which host addresses. Pure, so the rule and its edge cases are tested without a
 * database.
 */
import { parseCidr } from "@flowplane/protocol";

export type TMapAgent = {
  id: string;
  /** Addresses the agent reported for its host (enrolment, then every sync). */
  ips: readonly string[];
  enrolledAt: Date;
};

export type TDesignatedMap = { version: number; agents: { agentId: string; addresses: string[] }[] };

/**
 * Addresses that say nothing about which host sent a packet: loopback, link-local (the same
 * fe80::/169.254 addresses exist on every host), unspecified, multicast. Left out of the map, so
 * packets carrying them are designated to nobody and forwarded by whoever sees them.
 */
export function isMappableAddress(ip: string): boolean {
  let c: ReturnType<typeof parseCidr>;
  try {
    c = parseCidr(ip);
  } catch {
    return false;
  }
  if (c.version === 4) {
    const a = Number(c.base >> 24n);
    const b = Number((c.base >> 16n) & 255n);
    return !(a === 0 || a === 127 || (a === 169 && b === 254) || a >= 224);
  }
  const top16 = Number(c.base >> 112n);
  if (c.base === 0n || c.base === 1n) return false;
  if ((top16 & 0xffc0) === 0xfe80 || (top16 & 0xff00) === 0xff00) return false;
  // ::ffff:a.b.c.d: judge the IPv4 inside.
  if (c.base >> 32n === 0xffffn) return isMappableAddress(ipv4Text(c.base & 0xffffffffn));
  return true;
}

function ipv4Text(v: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 255n)).join(".");
}

/**
 * One entry per agent with at least one mappable address. An address reported by several agents
 * (cloned VMs, overlapping private ranges) goes to the one enrolled first (then the smallest id)
 * and is dropped from the others: the map must name one owner per address or every agent would
 * refuse the packet. Agents are listed in that same order, so every agent receives the same map.
 */
export function buildDesignatedMap(agents: readonly TMapAgent[]): TDesignatedMap {
  const ordered = [...agents].sort(
    (a, b) => a.enrolledAt.getTime() - b.enrolledAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
  const owner = new Set<string>();
  const out: TDesignatedMap["agents"] = [];
  for (const a of ordered) {
    const addresses: string[] = [];
    for (const ip of a.ips) {
      if (!isMappableAddress(ip)) continue;
      const key = canonical(ip);
      if (owner.has(key)) continue;
      owner.add(key);
      addresses.push(ip);
    }
    if (addresses.length > 0) out.push({ agentId: a.id, addresses });
  }
  return { version: 0, agents: out };
}

function canonical(ip: string): string {
  const c = parseCidr(ip);
  return `${c.version}:${c.base}`;
}
