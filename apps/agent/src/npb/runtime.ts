/**
 * The packet broker inside `run`: holds the broker built from the policies and designated map
 * the controller sent at sync, swaps it when a new NPB revision arrives (or the capture's link
 * type changes), and keeps per-policy counters across swaps so the heartbeat reports deltas the
 * controller has not accepted yet (a failed sync or a ClickHouse outage loses nothing).
 */
import {
  NPB_COUNTERS,
  type TNpbCounterName,
  type TNpbPolicyCounters,
  type TSyncNpb,
} from "@flowplane/protocol";
import type { PacketMeta } from "../decode/packet-meta.ts";
import { designatedPointsFor, PacketBroker } from "./broker.ts";
import type { DesignatedPoints } from "./dedup.ts";
import { createSender, type PacketSender } from "./sender.ts";

type Totals = Record<TNpbCounterName, number>;
const zero = (): Totals => Object.fromEntries(NPB_COUNTERS.map((c) => [c, 0])) as Totals;

export interface NpbRuntimeOptions {
  /** This agent's id (known once enrolled: read when a broker is built). */
  agentId: () => string;
  /** Capture interface names; the pipeline's ifIndex indexes this list (one capture: index 0). */
  interfaces: readonly string[];
  /** Both deduplication rules (designated points across agents, the window within this one). */
  dedup: boolean;
  /**
   * Outer IPv4 source written by the broker. Every delivery path replaces it with the route's
   * (the kernel for UDP and raw GRE sockets, the packet socket with the route's preferred
   * source); it shows only where the copy itself is kept (tests writing pcaps).
   */
  sourceAddress?: string;
  log: (line: string) => void;
  /** Test seam: where copies go (default: a sendmmsg/dgram sender opened on first use). */
  sender?: () => PacketSender;
}

export class NpbRuntime {
  /** The NPB revision running now ("" before the first sync answer): sent as npbRevision. */
  revision = "";
  private policies: unknown[] = [];
  private designatedMap: unknown;
  private broker: PacketBroker | null = null;
  private linkType = 1;
  private sender: PacketSender | null = null;
  /** Counters of brokers already replaced, per policy id. */
  private readonly retired = new Map<string, Totals>();
  /** What the controller has accepted so far, per policy id. */
  private readonly acked = new Map<string, Totals>();
  private failedRevision = "";
  /** The designated map indexed for this agent, kept while the map object (revision) and agent id stay. */
  private points: { map: unknown; agentId: string; points: DesignatedPoints } | null = null;
  private dedup: boolean;

  constructor(private readonly o: NpbRuntimeOptions) {
    this.dedup = o.dedup;
  }

  /**
   * The group configuration's `npb.dedup` (the caller folds in `run --no-npb-dedup`). A change
   * rebuilds the broker (counters carry over, like a new revision); the same value is a no-op.
   */
  setDedup(on: boolean): void {
    if (on === this.dedup) return;
    this.dedup = on;
    this.swap(this.build(this.policies, this.designatedMap, this.linkType));
    this.o.log(`packet broker: deduplication ${on ? "on" : "off"} (group configuration)`);
  }

  /** A sync answer's `npb`: builds the new broker first, so an invalid one keeps the old running. */
  apply(npb: TSyncNpb): void {
    try {
      const next = this.build(npb.policies, npb.designatedMap, this.linkType);
      this.swap(next);
      this.policies = npb.policies;
      this.designatedMap = npb.designatedMap;
      this.revision = npb.revision;
      const n = next?.compiled.policies.length ?? 0;
      this.o.log(`packet broker: revision ${npb.revision.slice(0, 8)}, ${n} polic${n === 1 ? "y" : "ies"}`);
    } catch (err) {
      // Logged once per revision; the controller resends it each sync until a valid one replaces it.
      if (this.failedRevision !== npb.revision) {
        this.failedRevision = npb.revision;
        this.o.log(
          `packet broker: revision ${npb.revision.slice(0, 8)} refused, keeping the previous one: ${(err as Error).message}`,
        );
      }
    }
  }

  /**
   * One decoded packet (`meta` filled by the engine for this frame). `l7Of` names the L7
   * protocol the flow engine has detected for the packet's flow ("" while unknown); it is called
   * only when some policy matches on l7Protocols, so L4-only policies cost nothing.
   */
  onPacket(
    meta: PacketMeta,
    linkType: number,
    buf: Uint8Array,
    off: number,
    capLen: number,
    tsMicros: number,
    l7Of?: () => string,
  ): void {
    let b = this.broker;
    if (b === null) return;
    if (linkType !== this.linkType) {
      // Copies are built per link type (Ethernet header present or synthesized).
      this.linkType = linkType;
      b = this.build(this.policies, this.designatedMap, linkType);
      this.swap(b);
      if (b === null) return;
    }
    const l7 = l7Of !== undefined && b.wantsL7 ? b.l7Id(l7Of()) : 0;
    b.onPacket(meta, buf, off, capLen, tsMicros, 0, l7);
  }

  /** Deltas since the last accepted report, for the heartbeat; undefined when there are none. */
  report(): TNpbPolicyCounters[] | undefined {
    const out: TNpbPolicyCounters[] = [];
    for (const [policyId, total] of this.totals()) {
      const acked = this.acked.get(policyId) ?? zero();
      const d = { policyId } as TNpbPolicyCounters;
      let any = false;
      for (const c of NPB_COUNTERS) {
        d[c] = total[c] - acked[c];
        if (d[c] > 0) any = true;
      }
      if (any) out.push(d);
    }
    return out.length > 0 ? out : undefined;
  }

  /** The controller stored `sent`: it is not reported again. */
  accepted(sent: readonly TNpbPolicyCounters[]): void {
    for (const d of sent) {
      const a = this.acked.get(d.policyId) ?? zero();
      for (const c of NPB_COUNTERS) a[c] += d[c];
      this.acked.set(d.policyId, a);
    }
  }

  /** Broker counters plus the sender's (copies dropped because the send ring was full). */
  stats(): { policies: TNpbPolicyCounters[]; sender: ReturnType<PacketSender["stats"]> | null } {
    return {
      policies: [...this.totals()].map(([policyId, t]) => ({ policyId, ...t })),
      sender: this.sender?.stats() ?? null,
    };
  }

  async close(): Promise<void> {
    await this.sender?.close();
  }

  private totals(): Map<string, Totals> {
    const out = new Map<string, Totals>();
    for (const [id, t] of this.retired) out.set(id, { ...t });
    for (const p of this.broker?.stats().policies ?? []) {
      const t = out.get(p.policyId) ?? zero();
      for (const c of NPB_COUNTERS) t[c] += p[c];
      out.set(p.policyId, t);
    }
    return out;
  }

  private build(policies: unknown[], designatedMap: unknown, linkType: number): PacketBroker | null {
    if (policies.length === 0) return null;
    this.sender ??= this.o.sender ? this.o.sender() : createSender();
    const agentId = this.o.agentId();
    let designatedPoints: DesignatedPoints | undefined;
    if (designatedMap !== undefined) {
      const c = this.points;
      if (c !== null && c.map === designatedMap && c.agentId === agentId) designatedPoints = c.points;
      else {
        designatedPoints = designatedPointsFor(designatedMap, agentId);
        this.points = { map: designatedMap, agentId, points: designatedPoints };
      }
    }
    const b = new PacketBroker({
      policies,
      ...(designatedPoints !== undefined ? { designatedPoints } : {}),
      agentId,
      interfaces: this.o.interfaces,
      linkType,
      ...(this.o.sourceAddress ? { sourceAddress: this.o.sourceAddress } : {}),
      dedup: this.dedup,
      designated: this.dedup,
      send: this.sender.send,
      // Copies built straight into the packet socket's ring (test doubles have no slot()).
      ...(typeof this.sender.slot === "function" ? { direct: this.sender } : {}),
    });
    return b.compiled.policies.length > 0 ? b : null;
  }

  private swap(next: PacketBroker | null): void {
    for (const p of this.broker?.stats().policies ?? []) {
      const t = this.retired.get(p.policyId) ?? zero();
      for (const c of NPB_COUNTERS) t[c] += p[c];
      this.retired.set(p.policyId, t);
    }
    this.broker = next;
  }
}
