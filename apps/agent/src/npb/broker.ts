/**
 * The packet-broker pipeline for one agent: match → designated-point check → local dedup →
 * per policy: pick a destination by symmetric flow hash, bandwidth cap, build the copy, send.
 * See index.ts for the wiring.
 */
import { NPB_COUNTERS } from "@flowplane/protocol";
import { DecodeError, type PacketMeta } from "../decode/packet-meta.ts";
import { DedupWindow, DesignatedMapSchema, DesignatedPoints, Designation } from "./dedup.ts";
import { type CopyOptions, EncapKind, type EncapParams, Encapsulator, ipv4ToInt } from "./encap.ts";
import { symmetricFlowHash } from "./flow-hash.ts";
import { FrameLayout, locateFrame } from "./frame-layout.ts";
import { type CompiledPolicies, compilePolicies, type Policy, parsePolicies } from "./policy.ts";
import { TokenBucket } from "./token-bucket.ts";

/** One tool a policy delivers to, compiled. `packet` handed to send starts with the outer IPv4 header. */
export interface Destination {
  policyId: string;
  address: string;
  /** Address as a signed int32 (outer IPv4 destination). */
  addr: number;
  /** UDP port: VXLAN (default 4789) or GRE-in-UDP fallback (default 4754). */
  port: number;
  /** EncapKind: vxlan sends over UDP, the others are GRE (raw socket or GRE-in-UDP). */
  kind: number;
}

export type SendFn = (dest: Destination, packet: Uint8Array, len: number) => void;

/**
 * A sender that lets the copy be built in place (the packet socket's ring slot): `slot` returns
 * where the outer IPv4 header goes (its length is the room), or null to use `send`; `commit`
 * sends what was built there. A slot not committed (cap, error) is simply reused.
 */
export interface DirectSend {
  slot(dest: Destination): Uint8Array | null;
  commit(dest: Destination, len: number): void;
}

export interface BrokerOptions {
  /** Policies as distributed (validated here; invalid ones throw with field paths). */
  policies: unknown;
  /** The controller's designated-capture-point map; absent = forward everything seen. */
  designatedMap?: unknown;
  /**
   * The same map already built for this agent (`designatedPointsFor`): a caller that rebuilds
   * brokers for the same NPB revision (link type or dedup setting changed) reuses it instead of
   * validating and indexing the map again. Wins over `designatedMap`.
   */
  designatedPoints?: DesignatedPoints;
  agentId: string;
  agentGroups?: readonly string[];
  /** Capture interface names by the ifIndex passed to onPacket. */
  interfaces?: readonly string[];
  /** Link type of the frames handed to onPacket (pcap LINKTYPE_*); default Ethernet. */
  linkType?: number;
  /** Outer IPv4 source address written into the copies. */
  sourceAddress?: string;
  /** Local (same agent, several interfaces) dedup; on by default. */
  dedup?: boolean;
  dedupWindowMicros?: number;
  /** Build copies straight into the sender's buffer where it offers one (PacketSender). */
  direct?: DirectSend;
  /** Cross-agent designated-point rule; on by default when a map is given. */
  designated?: boolean;
  send: SendFn;
}

/** The counter names of the wire (one list, owned by the protocol); C_* index them. */
export const COUNTERS = NPB_COUNTERS;
const NC = COUNTERS.length;
const C_MATCHED = 0;
const C_SENT = 1;
const C_BYTES = 2;
const C_TRUNC = 3;
const C_DEDUP = 4;
const C_NOTDES = 5;
const C_CAP = 6;
const C_ERR = 7;

export type PolicyCounters = { policyId: string; name: string } & Record<(typeof COUNTERS)[number], number>;

export interface BrokerStats {
  packets: number;
  /** Frames the decoder could not take to IP (ARP, LLDP, broken): never brokered. */
  notIp: number;
  dedupEvictions: number;
  policies: PolicyCounters[];
}

interface PolicyRuntime {
  encap: EncapParams;
  copy: CopyOptions;
  dests: Destination[];
  bucket: TokenBucket | null;
  seq: number;
}

function compileEncap(p: Policy): EncapParams {
  const e = p.action.encap;
  const base = { vni: 0, greKey: -1, sessionId: 0, erspanVlan: 0, cos: 0, hardwareId: 0 };
  switch (e.type) {
    case "vxlan":
      return { ...base, kind: EncapKind.vxlan, vni: e.vni };
    case "gre":
      return { ...base, kind: EncapKind.gre, greKey: e.key ?? -1 };
    case "erspan2":
      return { ...base, kind: EncapKind.erspan2, sessionId: e.sessionId, erspanVlan: e.vlan, cos: e.cos };
    case "erspan3":
      return {
        ...base,
        kind: EncapKind.erspan3,
        sessionId: e.sessionId,
        erspanVlan: e.vlan,
        cos: e.cos,
        hardwareId: e.hardwareId,
      };
  }
}

export class PacketBroker {
  readonly compiled: CompiledPolicies;
  private readonly runtime: PolicyRuntime[];
  private readonly counters: Float64Array;
  private readonly matches: Int32Array;
  private readonly layout = new FrameLayout();
  private readonly encap: Encapsulator;
  private readonly designated: DesignatedPoints | null;
  private readonly window: DedupWindow | null;
  private readonly linkType: number;
  private readonly send: SendFn;
  private readonly direct: DirectSend | null;
  private packets = 0;
  private notIp = 0;

  constructor(o: BrokerOptions) {
    const parsed = parsePolicies(o.policies);
    if (!parsed.ok) throw new Error(`invalid packet-broker policies:\n  ${parsed.errors.join("\n  ")}`);
    this.compiled = compilePolicies(parsed.policies, {
      agentGroups: o.agentGroups,
      interfaces: o.interfaces,
    });
    this.runtime = this.compiled.policies.map(({ policy: p }) => {
      const encap = compileEncap(p);
      const a = p.action;
      return {
        encap,
        copy: {
          stripTunnel: a.stripTunnel,
          truncatePayload: a.truncatePayload ?? -1,
          markVlan: a.mark?.vlan ?? -1,
          markDscp: a.mark?.dscp ?? -1,
        },
        dests: a.destinations.map((d) => ({
          policyId: p.id,
          address: d.address,
          addr: ipv4ToInt(d.address),
          port: d.port ?? (encap.kind === EncapKind.vxlan ? 4789 : 4754),
          kind: encap.kind,
        })),
        bucket: a.bandwidthCap
          ? new TokenBucket(
              a.bandwidthCap.mbps,
              a.bandwidthCap.burstBytes ?? TokenBucket.defaultBurst(a.bandwidthCap.mbps),
            )
          : null,
        seq: 0,
      };
    });
    this.counters = new Float64Array(Math.max(1, this.runtime.length) * NC);
    this.matches = new Int32Array(Math.max(1, this.runtime.length));
    this.encap = new Encapsulator(ipv4ToInt(o.sourceAddress ?? "127.0.0.1"));
    const points =
      o.designatedPoints ??
      (o.designatedMap !== undefined ? designatedPointsFor(o.designatedMap, o.agentId) : undefined);
    this.designated = points && o.designated !== false ? points : null;
    this.window = o.dedup === false ? null : new DedupWindow(o.dedupWindowMicros ?? 2000);
    this.linkType = o.linkType ?? 1;
    this.send = o.send;
    this.direct = o.direct ?? null;
  }

  /** Some policy matches on l7Protocols: only then is the caller asked for the flow's protocol. */
  get wantsL7(): boolean {
    return this.compiled.l7Ids.size > 0;
  }

  /** L7 protocol id to pass to onPacket (0 when no policy asks for that protocol). */
  l7Id(name: string): number {
    return this.compiled.l7Ids.get(name) ?? 0;
  }

  /**
   * One decoded packet (`meta` just filled by decodeFrame for this frame). Returns the number
   * of copies sent. Allocates nothing itself; `send` may.
   */
  onPacket(
    meta: PacketMeta,
    buf: Uint8Array,
    off: number,
    capLen: number,
    tsMicros: number,
    ifIndex = 0,
    l7 = 0,
  ): number {
    this.packets++;
    if (this.runtime.length === 0) return 0;
    if (meta.error !== DecodeError.ok || meta.ipVersion === 0) {
      this.notIp++;
      return 0;
    }
    const n = this.compiled.match(meta, ifIndex, l7, this.matches);
    if (n === 0) return 0;
    const c = this.counters;
    const mt = this.matches;
    for (let i = 0; i < n; i++) c[mt[i]! * NC + C_MATCHED]!++;
    if (this.designated !== null && this.designated.designate(meta) === Designation.other) {
      for (let i = 0; i < n; i++) c[mt[i]! * NC + C_NOTDES]!++;
      return 0;
    }
    if (this.window !== null && this.window.seen(meta, buf, off + capLen, tsMicros)) {
      for (let i = 0; i < n; i++) c[mt[i]! * NC + C_DEDUP]!++;
      return 0;
    }
    const L = this.layout;
    locateFrame(L, meta, this.linkType, buf, off, capLen);
    const hash = symmetricFlowHash(meta);
    let sent = 0;
    for (let i = 0; i < n; i++) {
      const pi = mt[i]!;
      const r = this.runtime[pi]!;
      const d = r.dests[r.dests.length === 1 ? 0 : hash % r.dests.length]!;
      const seq = r.seq;
      const slot = this.direct !== null ? this.direct.slot(d) : null;
      let len = 0;
      if (slot !== null)
        len = this.encap.build(r.encap, d.addr, r.copy, meta, L, buf, off, capLen, tsMicros, hash, seq, slot);
      const inSlot = len > 0;
      if (!inSlot)
        len = this.encap.build(r.encap, d.addr, r.copy, meta, L, buf, off, capLen, tsMicros, hash, seq);
      const k = pi * NC;
      if (len === 0) {
        c[k + C_ERR]!++;
        continue;
      }
      if (r.bucket !== null && !r.bucket.take(len, tsMicros)) {
        c[k + C_CAP]!++;
        continue;
      }
      r.seq = (seq + 1) | 0;
      if (this.encap.truncated) c[k + C_TRUNC]!++;
      if (inSlot) (this.direct as DirectSend).commit(d, len);
      else this.send(d, this.encap.out, len);
      c[k + C_SENT]!++;
      c[k + C_BYTES]! += len;
      sent++;
    }
    return sent;
  }

  stats(): BrokerStats {
    return {
      packets: this.packets,
      notIp: this.notIp,
      dedupEvictions: this.window?.evictions ?? 0,
      policies: this.compiled.policies.map(({ policy }, i) => {
        const row = { policyId: policy.id, name: policy.name } as PolicyCounters;
        COUNTERS.forEach((name, j) => {
          row[name] = this.counters[i * NC + j]!;
        });
        return row;
      }),
    };
  }
}

/** Validates the controller's map and indexes it for `agentId`; throws naming the bad field. */
export function designatedPointsFor(designatedMap: unknown, agentId: string): DesignatedPoints {
  const r = DesignatedMapSchema.safeParse(designatedMap);
  if (!r.success) {
    throw new Error(
      `invalid designated map: ${r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
    );
  }
  return new DesignatedPoints(r.data, agentId);
}

export function createPacketBroker(o: BrokerOptions): PacketBroker {
  return new PacketBroker(o);
}
