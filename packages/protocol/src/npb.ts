/**
 * Packet-broker wire shapes (issue 8, docs/packet-broker.md): the policy schema the console
 * writes, the controller distributes and the agent compiles, the designated-capture-point map,
 * and the per-policy counters an agent reports at sync. One definition, imported by all three.
 *
 * Pure (zod and bigint arithmetic only, no node:net) so the console can validate in the
 * browser too.
 */
import { z } from "zod";

const ipv4 = z.ipv4();
const ipv6 = z.ipv6();
const isIPv4 = (s: string): boolean => ipv4.safeParse(s).success;
const isIPv6 = (s: string): boolean => ipv6.safeParse(s).success;

export interface ParsedCidr {
  version: 4 | 6;
  /** First address as an unsigned integer (32 or 128 bits). */
  base: bigint;
  bits: number;
}

function parseV4(s: string): bigint | undefined {
  if (!isIPv4(s)) return undefined;
  let v = 0n;
  for (const part of s.split(".")) v = (v << 8n) | BigInt(Number(part));
  return v;
}

function parseV6(s: string): bigint | undefined {
  if (!isIPv6(s)) return undefined;
  let text = s;
  // Embedded dotted quad (::ffff:10.0.0.1) becomes two hex groups.
  const lastColon = text.lastIndexOf(":");
  const tail = text.slice(lastColon + 1);
  if (tail.includes(".")) {
    const v4 = parseV4(tail);
    if (v4 === undefined) return undefined;
    text = `${text.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = text.split("::");
  const head = halves[0] ? halves[0].split(":") : [];
  const rest = halves.length > 1 && halves[1] ? halves[1].split(":") : [];
  const fill = 8 - head.length - rest.length;
  const groups = halves.length > 1 ? [...head, ...Array<string>(fill).fill("0"), ...rest] : head;
  if (groups.length !== 8) return undefined;
  let v = 0n;
  for (const g of groups) v = (v << 16n) | BigInt(Number.parseInt(g, 16));
  return v;
}

/** Parses "10.0.0.0/8", "2001:db8::/32" or a bare address (a /32 or /128). Throws on garbage. */
export function parseCidr(text: string): ParsedCidr {
  const slash = text.indexOf("/");
  const addr = slash < 0 ? text : text.slice(0, slash);
  const v4 = parseV4(addr);
  const v6 = v4 === undefined ? parseV6(addr) : undefined;
  if (v4 === undefined && v6 === undefined) throw new Error(`not an IPv4 or IPv6 address: "${addr}"`);
  const version = v4 !== undefined ? 4 : 6;
  const width = version === 4 ? 32 : 128;
  let bits = width;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p) || Number(p) > width) throw new Error(`prefix length must be 0-${width}`);
    bits = Number(p);
  }
  const base = (v4 ?? v6) as bigint;
  const hostMask = (1n << BigInt(width - bits)) - 1n;
  if ((base & hostMask) !== 0n) {
    const fixed = base & ~hostMask;
    throw new Error(`host bits set; did you mean ${formatAddr(version, fixed)}/${bits}?`);
  }
  return { version, base, bits };
}

function formatAddr(version: 4 | 6, v: bigint): string {
  if (version === 4) return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 255n)).join(".");
  const groups: string[] = [];
  for (let s = 112n; s >= 0n; s -= 16n) groups.push(((v >> s) & 0xffffn).toString(16));
  return groups.join(":").replace(/(^|:)0(:0)+(:|$)/, "::");
}

const cidr = z.string().superRefine((s, ctx) => {
  try {
    parseCidr(s);
  } catch (e) {
    ctx.addIssue({ code: "custom", message: (e as Error).message });
  }
});

const portSpec = z.union([
  z.number().int().min(0).max(65535),
  z
    .string()
    .regex(/^\d{1,5}(-\d{1,5})?$/, 'a port ("443") or a range ("8000-8099")')
    .refine(
      (s) => {
        const [lo, hi = lo] = s.split("-").map(Number) as [number, number?];
        return lo <= 65535 && (hi as number) <= 65535 && lo <= (hi as number);
      },
      { message: "port range must be within 0-65535 and low <= high" },
    ),
]);

export const PROTOCOL_NAMES: Record<string, number> = {
  icmp: 1,
  tcp: 6,
  udp: 17,
  gre: 47,
  icmpv6: 58,
  sctp: 132,
};
const protocol = z.union([
  z.number().int().min(0).max(255),
  z.enum(Object.keys(PROTOCOL_NAMES) as [string, ...string[]]),
]);

export const NPB_TUNNEL_TYPES = ["none", "vxlan", "geneve", "gre", "erspan2", "erspan3", "ipip"] as const;
const tunnelType = z.enum(NPB_TUNNEL_TYPES);

export const ZNpbMatch = z
  .object({
    clientCidrs: z.array(cidr).max(10_000).default([]),
    serverCidrs: z.array(cidr).max(10_000).default([]),
    clientPorts: z.array(portSpec).max(1024).default([]),
    serverPorts: z.array(portSpec).max(1024).default([]),
    protocols: z.array(protocol).default([]),
    vlans: z.array(z.number().int().min(0).max(4095)).default([]),
    tunnelTypes: z.array(tunnelType).default([]),
    tunnelIds: z.array(z.number().int().min(0).max(0xffffffff)).default([]),
    interfaces: z.array(z.string().min(1).max(64)).default([]),
    direction: z.enum(["both", "client-to-server", "server-to-client"]).default("both"),
    l7Protocols: z.array(z.string().min(1).max(32)).default([]),
  })
  .strict()
  .superRefine((m, ctx) => {
    if (m.clientPorts.length + m.serverPorts.length === 0 || m.protocols.length === 0) return;
    const withPorts = m.protocols.some((p) => {
      const n = typeof p === "number" ? p : PROTOCOL_NAMES[p];
      return n === 6 || n === 17;
    });
    if (!withPorts) {
      ctx.addIssue({
        code: "custom",
        path: [m.clientPorts.length ? "clientPorts" : "serverPorts"],
        message: "ports can only match tcp or udp; add one to protocols or drop the ports",
      });
    }
  });

const destination = z
  .object({
    address: z
      .string()
      .refine((s) => isIPv4(s) || isIPv6(s), { message: "an IP address" })
      .refine((s) => !isIPv6(s), {
        message: "IPv6 destinations are not supported yet (outer header is IPv4)",
      }),
    /** UDP port for VXLAN (default 4789) and for GRE-in-UDP fallback (default 4754). */
    port: z.number().int().min(1).max(65535).optional(),
  })
  .strict();

export const ZNpbEncap = z.discriminatedUnion("type", [
  z.object({ type: z.literal("vxlan"), vni: z.number().int().min(0).max(0xffffff) }).strict(),
  z.object({ type: z.literal("gre"), key: z.number().int().min(0).max(0xffffffff).optional() }).strict(),
  z
    .object({
      type: z.literal("erspan2"),
      sessionId: z.number().int().min(0).max(1023),
      vlan: z.number().int().min(0).max(4095).default(0),
      cos: z.number().int().min(0).max(7).default(0),
    })
    .strict(),
  z
    .object({
      type: z.literal("erspan3"),
      sessionId: z.number().int().min(0).max(1023),
      vlan: z.number().int().min(0).max(4095).default(0),
      cos: z.number().int().min(0).max(7).default(0),
      hardwareId: z.number().int().min(0).max(63).default(0),
    })
    .strict(),
]);

export const ZNpbAction = z
  .object({
    /** One destination, or several spread by a symmetric flow hash. */
    destinations: z.array(destination).min(1, "at least one destination").max(64),
    encap: ZNpbEncap,
    /** Remove VXLAN / Geneve / GRE / ERSPAN / IP-in-IP headers and deliver the inner frame. */
    stripTunnel: z.boolean().default(false),
    /** Keep headers up to L4 plus this many bytes of L4 payload. */
    truncatePayload: z.number().int().min(0).max(65535).optional(),
    bandwidthCap: z
      .object({
        mbps: z.number().positive().max(400_000),
        /** Bucket depth; default 10 ms worth of the rate, at least 64 KiB. */
        burstBytes: z
          .number()
          .int()
          .min(1500)
          .max(1 << 30)
          .optional(),
      })
      .strict()
      .optional(),
    mark: z
      .object({
        vlan: z.number().int().min(1).max(4094).optional(),
        dscp: z.number().int().min(0).max(63).optional(),
      })
      .strict()
      .refine((m) => m.vlan !== undefined || m.dscp !== undefined, { message: "mark needs vlan or dscp" })
      .optional(),
  })
  .strict();

export const ZNpbPolicy = z
  .object({
    id: z.string().min(1).max(64),
    orgId: z.string().min(1),
    name: z.string().min(1).max(200),
    enabled: z.boolean().default(true),
    priority: z.number().int().min(0).max(65535),
    /** Agent groups the policy applies to; empty = every agent of the organization. */
    agentGroups: z.array(z.string().min(1)).default([]),
    match: ZNpbMatch.default(() => ZNpbMatch.parse({})),
    action: ZNpbAction,
    /** After this policy matched, keep evaluating lower-priority policies. */
    continue: z.boolean().default(false),
  })
  .strict();

export const ZNpbPolicyList = z.array(ZNpbPolicy).superRefine((list, ctx) => {
  const seen = new Map<string, number>();
  list.forEach((p, i) => {
    const prev = seen.get(p.id);
    if (prev !== undefined)
      ctx.addIssue({ code: "custom", path: [i, "id"], message: `duplicate of policies[${prev}].id` });
    else seen.set(p.id, i);
  });
});

export type Policy = z.output<typeof ZNpbPolicy>;
export type PolicyInput = z.input<typeof ZNpbPolicy>;
export type Encap = z.output<typeof ZNpbEncap>;

/** "policies[0].match.clientCidrs[1]: host bits set; ..." — one line per problem. */
export function formatIssues(error: z.ZodError, root = "policies"): string[] {
  return error.issues.map((i) => {
    let path = root;
    for (const k of i.path) path += typeof k === "number" ? `[${k}]` : `.${String(k)}`;
    return `${path}: ${i.message}`;
  });
}

export type ParseResult = { ok: true; policies: Policy[] } | { ok: false; errors: string[] };

export function parsePolicies(input: unknown): ParseResult {
  const r = ZNpbPolicyList.safeParse(input);
  return r.success ? { ok: true, policies: r.data } : { ok: false, errors: formatIssues(r.error) };
}

/** The controller's map of designated capture points (docs/packet-broker.md, rule 1). */
export const ZDesignatedMap = z
  .object({
    /** Bumped by the controller on every change; agents log it with their stats. */
    version: z.number().int().min(0).default(0),
    agents: z
      .array(
        z
          .object({
            agentId: z.string().min(1),
            /** Addresses (or prefixes) of the hosts this agent captures on. */
            addresses: z.array(cidr),
          })
          .strict(),
      )
      .default([]),
  })
  .strict();
export type DesignatedMap = z.output<typeof ZDesignatedMap>;

// ── at sync ──

/** Counters per policy an agent reports, as deltas since its last accepted report. */
export const NPB_COUNTERS = [
  "matched",
  "sent",
  "bytes",
  "truncated",
  "deduplicated",
  "notDesignated",
  "droppedByCap",
  "encapErrors",
] as const;
export type TNpbCounterName = (typeof NPB_COUNTERS)[number];
const delta = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
export const ZNpbPolicyCounters = z.object({
  policyId: z.string().min(1).max(64),
  ...(Object.fromEntries(NPB_COUNTERS.map((c) => [c, delta])) as Record<TNpbCounterName, typeof delta>),
});
export type TNpbPolicyCounters = z.infer<typeof ZNpbPolicyCounters>;

/**
 * What the sync answer carries when the agent's NPB revision is not the controller's. Policies
 * and map travel as `unknown` in the envelope on purpose: a policy this agent cannot read (a
 * newer controller's field) must fail only the broker update, which the agent validates with
 * ZNpbPolicyList and logs, never the whole sync (heartbeat, credential rotation).
 */
export const ZSyncNpb = z.object({
  /** Hash of policies + map; the agent echoes it as `npbRevision`. */
  revision: z.string().min(1).max(128),
  policies: z.array(z.unknown()).max(1024),
  designatedMap: z.unknown().optional(),
});
export type TSyncNpb = z.infer<typeof ZSyncNpb>;

/**
 * The packet broker's part of an agent group's configuration (`ZAgentConfig.npb`). `dedup`
 * switches both deduplication rules (designated capture points across agents, the window
 * within one agent) for the group's agents; on by default. Turn it off for a group whose
 * agents see disjoint traffic, or whose tools must see every copy (e.g. to measure loss between
 * capture points). An agent started with `run --no-npb-dedup` keeps it off whatever the group says.
 */
export const ZNpbAgentConfig = z
  .object({
    dedup: z.boolean().default(true),
  })
  .strict();
export type TNpbAgentConfig = z.infer<typeof ZNpbAgentConfig>;
