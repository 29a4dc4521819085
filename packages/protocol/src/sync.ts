import { z } from "zod";
import { ZAgentConfig } from "./config.ts";

/**
 * What the agent says it is doing. The controller maps it onto its own agent states
 * (running/starting -> online, degraded/protective -> degraded, stopping -> offline).
 */
export const ZAgentRunState = z.enum(["starting", "running", "degraded", "protective", "stopping"]);
export type TAgentRunState = z.infer<typeof ZAgentRunState>;

const count = z.number().min(0).finite();

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
});
export type TSyncResponse = z.infer<typeof ZSyncResponse>;
