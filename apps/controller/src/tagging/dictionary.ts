import { ipv4ToNumber, ipv6ToBigInt, maskV4, maskV6, normaliseIp, parseCidrV4, parseCidrV6 } from "./ip.ts";

/** The tag slots a resolved IP fills (SmartEncoding ids; 0 = unknown). */
export const TAG_SLOTS = [
  "region",
  "az",
  "vpc",
  "subnet",
  "host",
  "k8s_cluster",
  "k8s_node",
  "namespace",
  "service",
  "workload",
  "pod",
] as const;
export type TTagSlot = (typeof TAG_SLOTS)[number];
export type TResolved = { resourceId: number } & Record<TTagSlot, number>;

/** A resource as the dictionary needs it (what `loadDictionary` reads from Postgres). */
export type TDictResource = {
  accountId: string;
  accountKind: string;
  kind: string;
  externalId: string;
  tagId: number;
  refs: Record<string, string>;
  cidr: string | null;
  ips: string[];
  attrs: Record<string, unknown>;
};

type TEntry = { vpc: number; rank: number; resolved: TResolved };

/** When one IP names several resources in the same VPC, the most specific wins. */
const ENDPOINT_RANK: Record<string, number> = {
  pod: 1,
  interface: 2,
  host: 3,
  k8s_node: 4,
  service: 5,
  appliance: 6,
  subnet: 10,
  vpc: 11,
};

const EMPTY: TResolved = Object.freeze({
  resourceId: 0,
  region: 0,
  az: 0,
  vpc: 0,
  subnet: 0,
  host: 0,
  k8s_cluster: 0,
  k8s_node: 0,
  namespace: 0,
  service: 0,
  workload: 0,
  pod: 0,
}) as TResolved;

function vpcsByExternalId(resources: TDictResource[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of resources) if (r.kind === "vpc" && !out.has(r.externalId)) out.set(r.externalId, r.tagId);
  return out;
}

/**
 * Every tag slot of a resource, from its own kind and its parents' (followed through `refs` within
 * the account). Also what `resource_tags` in ClickHouse holds per id.
 */
export function ancestryOf(resources: TDictResource[]): (r: TDictResource) => TResolved {
  const byRef = new Map<string, TDictResource>();
  for (const r of resources) byRef.set(`${r.accountId}|${r.kind}|${r.externalId}`, r);
  const vpcByExternal = vpcsByExternalId(resources);
  const memo = new Map<TDictResource, TResolved>();
  const ancestry = (r: TDictResource, depth = 0): TResolved => {
    const hit = memo.get(r);
    if (hit) return hit;
    const out: TResolved = { ...EMPTY, resourceId: r.tagId };
    if (depth < 8) {
      for (const [kind, ext] of Object.entries(r.refs)) {
        const parent = byRef.get(`${r.accountId}|${kind}|${ext}`);
        if (!parent) continue;
        const up = ancestry(parent, depth + 1);
        for (const slot of TAG_SLOTS) if (!out[slot] && up[slot]) out[slot] = up[slot];
      }
    }
    if ((TAG_SLOTS as readonly string[]).includes(r.kind)) out[r.kind as TTagSlot] = r.tagId;
    // A cluster names the VPC it runs in by external id (any account of the org).
    if (r.kind === "k8s_cluster" && typeof r.attrs.vpc === "string")
      out.vpc = vpcByExternal.get(r.attrs.vpc) ?? 0;
    // An interface stands for its instance: rows group by host, the interface is an attribute.
    if (r.kind === "interface" && out.host) out.resourceId = out.host;
    memo.set(r, out);
    return out;
  };
  return (r) => ancestry(r);
}

function best(entries: TEntry[]): TEntry | undefined {
  let b: TEntry | undefined;
  for (const e of entries) if (!b || e.rank < b.rank) b = e;
  return b;
}

/**
 * One organization's IP → resource dictionary at one version, built in memory from the resource
 * model (never a Postgres call per row). The rule for overlapping private ranges is in
 * docs/autotagging.md: a row is resolved within its VPC context (the tunnel id's VPC, else the
 * agent's VPC); resources without a VPC are visible from every context; a resource of another VPC
 * is used only when it is the only VPC claiming that address.
 */
export class TagDictionary {
  readonly version: number;
  readonly #exact = new Map<string, TEntry[]>();
  /** The entries of #exact whose key is a canonical dotted IPv4 address, by its number. */
  readonly #exact4 = new Map<number, TEntry[]>();
  readonly #prefixes = new Map<number, Map<number, TEntry[]>>();
  #lengths: number[] = [];
  readonly #prefixes6 = new Map<number, Map<bigint, TEntry[]>>();
  #lengths6: number[] = [];
  readonly #vpcByTunnel = new Map<number, number>();
  readonly #vpcByAgent = new Map<string, number>();

  constructor(version: number, resources: TDictResource[]) {
    this.version = version;
    const vpcByExternal = vpcsByExternalId(resources);
    const ancestry = ancestryOf(resources);
    const agentHosts: TDictResource[] = [];
    const pinned = new Map<string, number>();
    for (const r of resources) {
      if (typeof r.attrs.agentId === "string" && typeof r.attrs.vpc === "string") {
        pinned.set(r.attrs.agentId, vpcByExternal.get(r.attrs.vpc) ?? 0);
      }
      if (r.kind === "vpc" && typeof r.attrs.vni === "number") this.#vpcByTunnel.set(r.attrs.vni, r.tagId);
      if (r.accountKind === "agents") {
        agentHosts.push(r);
        continue; // placed once their VPC is known, below
      }
      const resolved = ancestry(r);
      const rank = ENDPOINT_RANK[r.kind];
      if (rank === undefined) continue;
      const entry: TEntry = { vpc: resolved.vpc, rank, resolved };
      for (const ip of r.ips) this.#pushExact(normaliseIp(ip), entry);
      if (r.cidr && (r.kind === "subnet" || r.kind === "vpc" || r.kind === "appliance")) {
        const p = parseCidrV4(r.cidr);
        const p6 = p ? undefined : parseCidrV6(r.cidr);
        if (p) this.#push(tableOf(this.#prefixes, p.len), p.net, entry);
        else if (p6) this.#push(tableOf(this.#prefixes6, p6.len), p6.net, entry);
      }
    }
    this.#lengths = [...this.#prefixes.keys()].sort((a, b) => b - a);
    this.#lengths6 = [...this.#prefixes6.keys()].sort((a, b) => b - a);
    for (const h of agentHosts) {
      const agentId = typeof h.attrs.agentId === "string" ? h.attrs.agentId : h.externalId;
      const vpc = this.#agentVpc(h, agentId, pinned);
      if (vpc) this.#vpcByAgent.set(agentId, vpc);
      // The agent's own host answers for its IPs when no cloud resource does.
      const resolved = { ...EMPTY, resourceId: h.tagId, host: h.tagId, vpc };
      for (const ip of h.ips) {
        const key = normaliseIp(ip);
        if (!this.#exact.get(key)?.some((e) => e.vpc === vpc)) {
          this.#pushExact(key, { vpc, rank: ENDPOINT_RANK.host ?? 3, resolved });
        }
      }
    }
  }

  #pushExact(key: string, e: TEntry): void {
    this.#push(this.#exact, key, e);
    const n = ipv4ToNumber(key);
    if (n !== undefined && numberToIpv4(n) === key) this.#push(this.#exact4, n, e);
  }

  #push<K>(map: Map<K, TEntry[]>, key: K, e: TEntry): void {
    const list = map.get(key);
    if (list) list.push(e);
    else map.set(key, [e]);
  }

  /**
   * An agent's VPC: pinned by a resource of any source with `attrs.agentId` and `attrs.vpc`
   * (external id; e.g. a manual import), else the one VPC whose instances, interfaces or nodes
   * hold one of the agent's IPs; when several do, unknown (0): pin it.
   */
  #agentVpc(h: TDictResource, agentId: string, pinned: Map<string, number>): number {
    const pin = pinned.get(agentId);
    if (pin !== undefined) return pin;
    const cands = h.ips.flatMap((ip) => this.#exact.get(normaliseIp(ip)) ?? []).filter((e) => e.vpc);
    const vpcs = new Set(cands.map((e) => e.vpc));
    if (vpcs.size === 1) return [...vpcs][0] ?? 0;
    return 0;
  }

  /** Whether no address can resolve (no resource with an IP or a range): taggers skip the rows. */
  get empty(): boolean {
    return this.#exact.size === 0 && this.#prefixes.size === 0 && this.#prefixes6.size === 0;
  }

  /** The VPC context of a row: its tunnel's VPC, else its agent's VPC, else none (0). */
  contextFor(agentId: string | undefined, tunnelId: number | undefined): number {
    if (tunnelId) {
      const v = this.#vpcByTunnel.get(tunnelId);
      if (v) return v;
    }
    return agentId ? (this.#vpcByAgent.get(agentId) ?? 0) : 0;
  }

  resolve(ip: string, vpcContext = 0): TResolved {
    const key = normaliseIp(ip);
    const n = ipv4ToNumber(key);
    const v6 = n === undefined && this.#lengths6.length > 0 ? ipv6ToBigInt(key) : undefined;
    // First pass: only the context's VPC and VPC-less resources, exact address then longest prefix.
    const exact = this.#exact.get(key);
    let hit = exact ? pickLocal(exact, vpcContext) : undefined;
    if (!hit && n !== undefined) {
      for (const len of this.#lengths) {
        const es = this.#prefixes.get(len)?.get(maskV4(n, len));
        hit = es ? pickLocal(es, vpcContext) : undefined;
        if (hit) break;
      }
    }
    if (!hit && v6 !== undefined) {
      for (const len of this.#lengths6) {
        const es = this.#prefixes6.get(len)?.get(maskV6(v6, len));
        hit = es ? pickLocal(es, vpcContext) : undefined;
        if (hit) break;
      }
    }
    if (hit) return hit.resolved;
    // Second pass: another VPC's resource, only when a single VPC claims the address (peering,
    // public ranges); two VPCs both holding it (overlapping private ranges) stay unresolved.
    if (exact) return pickUnique(exact)?.resolved ?? EMPTY;
    if (n !== undefined) {
      for (const len of this.#lengths) {
        const es = this.#prefixes.get(len)?.get(maskV4(n, len));
        if (es) return pickUnique(es)?.resolved ?? EMPTY;
      }
    }
    if (v6 !== undefined) {
      for (const len of this.#lengths6) {
        const es = this.#prefixes6.get(len)?.get(maskV6(v6, len));
        if (es) return pickUnique(es)?.resolved ?? EMPTY;
      }
    }
    return EMPTY;
  }

  /**
   * `resolve` of a canonical dotted IPv4 address given as its number (compact ingest reads the
   * address from the body's bytes; no string is built): the same answer as `resolve` of its text.
   */
  resolveV4(n: number, vpcContext = 0): TResolved {
    const exact = this.#exact4.get(n);
    let hit = exact ? pickLocal(exact, vpcContext) : undefined;
    if (!hit) {
      for (const len of this.#lengths) {
        const es = this.#prefixes.get(len)?.get(maskV4(n, len));
        hit = es ? pickLocal(es, vpcContext) : undefined;
        if (hit) break;
      }
    }
    if (hit) return hit.resolved;
    if (exact) return pickUnique(exact)?.resolved ?? EMPTY;
    for (const len of this.#lengths) {
      const es = this.#prefixes.get(len)?.get(maskV4(n, len));
      if (es) return pickUnique(es)?.resolved ?? EMPTY;
    }
    return EMPTY;
  }
}

/** Dotted text of an unsigned 32-bit IPv4 number. */
function numberToIpv4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

function tableOf<K>(byLength: Map<number, Map<K, TEntry[]>>, len: number): Map<K, TEntry[]> {
  let table = byLength.get(len);
  if (!table) {
    table = new Map();
    byLength.set(len, table);
  }
  return table;
}

/** The most specific entry in the context's VPC or in none; no allocation (per-row path). */
function pickLocal(es: TEntry[], ctx: number): TEntry | undefined {
  let b: TEntry | undefined;
  for (let i = 0; i < es.length; i++) {
    const e = es[i] as TEntry;
    if ((e.vpc === ctx || e.vpc === 0) && (!b || e.rank < b.rank)) b = e;
  }
  return b;
}

/** The most specific entry when every entry is in the same VPC; else none. */
function pickUnique(es: TEntry[]): TEntry | undefined {
  const vpc = es[0]?.vpc;
  for (const e of es) if (e.vpc !== vpc) return undefined;
  return best(es);
}
