import { z } from "zod";
import { ZAgentConfig } from "./config.ts";
import { ZNpbPolicyCounters, ZSyncNpb } from "./npb.ts";

/**
 * What the agent says it is doing. The controller maps it onto its own agent states
 * (running/starting -> online, degraded/protective -> degraded, stopping -> offline).
 */
export const ZAgentRunState = z.enum(["starting", "running", "degraded", "protective", "stopping"]);
export type TAgentRunState = z.infer<typeof ZAgentRunState>;

const count = z.number().min(0).finite();

/** Where the agent's overload governor stands (docs/overload-limits.md), lowest first. */
export const ZOverloadStep = z.enum(["normal", "shedding", "protective", "capture_stopped"]);
export type TOverloadStep = z.infer<typeof ZOverloadStep>;

/**
 * The governor's state and counters. Counters are cumulative since the agent started and
 * `elapsedS` is its own clock, so a rate is the difference of two heartbeats divided by the
 * difference of their `elapsedS` (no wall-clock guess on the receiving side).
 */
export const ZAgentOverload = z.object({
  step: ZOverloadStep,
  /** Why the governor stands where it does ("" when normal). */
  reason: z.string().max(512),
  elapsedS: count,
  /** Packets that reached the agent, and those of them the flow engine processed. */
  offeredPackets: count,
  processedPackets: count,
  /** Packets (and their wire bytes) shed by rate caps or CPU sampling; never in any flow's counters. */
  shedPackets: count,
  shedBytes: count,
  /** Packets dropped while capture was stopped (step capture_stopped). */
  stoppedPackets: count,
  /** Fraction of offered packets the sampler lets through now (1 = all). */
  keepRatio: z.number().min(0).max(1),
  /** Telemetry rows sent, and rows held back in the disk spool by the send-rate limit. */
  sentRows: count,
  heldRows: count,
  /** Process CPU as a percentage of the whole host (all cores), as maxCpuPct is. */
  cpuHostPct: count,
  /** Times the governor stepped up. */
  escalations: count,
});
export type TAgentOverload = z.infer<typeof ZAgentOverload>;

/** Self-statistics sent with every heartbeat; rates are per second over the last interval. */
export const ZAgentStats = z.object({
  cpuPct: z
    .number()
    .min(0)
    .max(100 * 1024)
    .finite(),
  memBytes: count,
  packetsPerS: count,
  bytesPerS: count,
  drops: count,
  flows: count,
  spoolBytes: count,
  version: z.string().min(1).max(64),
  /** Absent from agents without a governor (older agents, runs without group limits). */
  overload: ZAgentOverload.optional(),
});
export type TAgentStats = z.infer<typeof ZAgentStats>;

/** The outcome of applying one configuration revision. */
export const ZApplyResult = z.object({
  revision: z.number().int().min(1),
  ok: z.boolean(),
  error: z.string().max(4096).optional(),
});
export type TApplyResult = z.infer<typeof ZApplyResult>;

/** POST /v1/agents/sync, every sync interval. */
export const ZSyncRequest = z.object({
  protocolVersion: z.number().int().min(0),
  agentId: z.uuid(),
  state: ZAgentRunState,
  /** The revision the agent runs now (its last good one); 0 before any. */
  appliedRevision: z.number().int().min(0),
  /** Sent once after trying a revision, applied or not. */
  applyResult: ZApplyResult.optional(),
  stats: ZAgentStats,
  /** The host's addresses now (they change: DHCP, a new interface); the controller keeps them current. */
  hostIps: z
    .array(z.union([z.ipv4(), z.ipv6()]))
    .max(256)
    .optional(),
  /** The packet-broker revision the agent runs (`npb.revision` of an earlier answer). */
  npbRevision: z.string().max(128).optional(),
  /** Per-policy broker counters since the last report the controller accepted. */
  npbCounters: z.array(ZNpbPolicyCounters).max(1024).optional(),
});
export type TSyncRequest = z.infer<typeof ZSyncRequest>;

export const ZSyncResponse = z.object({
  protocolVersion: z.number().int(),
  /** The group's current configuration revision. */
  revision: z.number().int().min(0),
  /** Only when `revision` differs from the agent's appliedRevision. */
  config: ZAgentConfig.optional(),
  /** Where to send telemetry; absent: send it to the controller's own /v1/ingest. */
  dataNode: z.object({ url: z.url() }).optional(),
  syncIntervalS: z.number().int().min(1),
  /**
   * A new credential: use it from the next request on. The previous one keeps working until the
   * controller has seen the new one once, so a lost response never locks the agent out.
   */
  rotateCredential: z.string().min(1).optional(),
  /** Packet-broker policies and designated map: only when the agent's npbRevision differs. */
  npb: ZSyncNpb.optional(),
  /** False when the controller could not store the npbCounters sent: keep them for the next sync. */
  npbCountersAccepted: z.boolean().optional(),
});
export type TSyncResponse = z.infer<typeof ZSyncResponse>;
