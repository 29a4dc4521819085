import { z } from "zod";
import type { ClickHouseClient } from "../client.ts";
import { orgQuery } from "../client.ts";
import { zUuid } from "../rows/index.ts";
import { rangeIsOrdered, timeRangeShape } from "./common.ts";

/** Agent states as the controller stores them (agents.state), plus "protective" for degraded + shedding. */
export const AGENT_HEALTH_STATES = [
  "online",
  "degraded",
  "protective",
  "offline",
  "pending",
  "disabled",
] as const;

/** One heartbeat as the record-agent-health job writes it. `time` is the heartbeat's time. */
export const ZAgentHealthSample = z.object({
  orgId: zUuid,
  agentId: zUuid,
  time: z.date(),
  state: z.string().min(1).max(32),
  protective: z.boolean(),
  cpuPct: z.number().finite().min(0),
  memBytes: z.number().finite().min(0),
  packetsPerS: z.number().finite().min(0),
  bytesPerS: z.number().finite().min(0),
  drops: z.number().finite().min(0),
  flows: z.number().finite().min(0),
  spoolBytes: z.number().finite().min(0),
  version: z.string().max(64),
});
export type TAgentHealthSample = z.infer<typeof ZAgentHealthSample>;

/**
 * Writes heartbeat samples of any number of orgs in one insert: the platform job copies them from
 * Postgres, where each row's org is the agent's own, so no caller-supplied org can be wrong here.
 */
export async function recordAgentHealth(
  client: ClickHouseClient,
  samples: readonly TAgentHealthSample[],
): Promise<number> {
  if (samples.length === 0) return 0;
  const values = samples.map((raw) => {
    const s = ZAgentHealthSample.parse(raw);
    return {
      org_id: s.orgId,
      agent_id: s.agentId,
      // An integer is read into DateTime64(3) as ticks of its scale: epoch milliseconds.
      time: s.time.getTime(),
      state: s.state,
      protective: s.protective ? 1 : 0,
      cpu_pct: s.cpuPct,
      mem_bytes: Math.round(s.memBytes),
      packets_per_s: s.packetsPerS,
      bytes_per_s: s.bytesPerS,
      drops: Math.round(s.drops),
      flows: Math.round(s.flows),
      spool_bytes: Math.round(s.spoolBytes),
      version: s.version,
    };
  });
  await client.insert({ table: "agent_health", values, format: "JSONEachRow" });
  return values.length;
}

/** At most this many points per series, whatever the range: the step grows with the range. */
export const AGENT_HEALTH_MAX_POINTS = 360;

export const ZAgentHealthSeriesParams = z
  .object({ orgId: zUuid, agentId: zUuid, ...timeRangeShape })
  .refine(...rangeIsOrdered);
export type TAgentHealthSeriesParams = z.input<typeof ZAgentHealthSeriesParams>;

const num = z.preprocess((v) => (typeof v === "string" ? Number(v) : v), z.number());
export const ZAgentHealthPoint = z.object({
  /** Start of the step, µs since the epoch. */
  time: num,
  /** Heartbeats in the step. */
  samples: num,
  cpu_pct: num,
  /** Highest memory seen in the step (a peak matters more than a mean for memory limits). */
  mem_bytes: num,
  packets_per_s: num,
  bytes_per_s: num,
  /** Highest drop counter in the step. */
  drops: num,
  spool_bytes: num,
  /** The state of the step's last heartbeat. */
  state: z.string(),
});
export type TAgentHealthPoint = z.infer<typeof ZAgentHealthPoint>;

/** Step in seconds for a range: whole 10 s heartbeats, no more than AGENT_HEALTH_MAX_POINTS steps. */
export function agentHealthStepS(fromUs: number, toUs: number): number {
  const rangeS = Math.max(1, (toUs - fromUs) / 1_000_000);
  return Math.max(10, Math.ceil(rangeS / AGENT_HEALTH_MAX_POINTS / 10) * 10);
}

/**
 * One agent's heartbeats over a range, per step, oldest first; steps without a heartbeat are
 * absent (the agent was silent), which the chart shows as a gap.
 */
export async function agentHealthSeries(
  client: ClickHouseClient,
  input: TAgentHealthSeriesParams,
): Promise<{ stepS: number; points: TAgentHealthPoint[] }> {
  const p = ZAgentHealthSeriesParams.parse(input);
  const stepS = agentHealthStepS(p.from, p.to);
  const sql = `
    SELECT
      toUnixTimestamp(toStartOfInterval(h.time, toIntervalSecond({step:UInt32}))) * 1000000 AS time,
      count() AS samples,
      avg(h.cpu_pct) AS cpu_pct,
      max(h.mem_bytes) AS mem_bytes,
      avg(h.packets_per_s) AS packets_per_s,
      avg(h.bytes_per_s) AS bytes_per_s,
      max(h.drops) AS drops,
      max(h.spool_bytes) AS spool_bytes,
      argMax(if(h.protective = 1, 'protective', h.state), h.time) AS state
    FROM agent_health AS h FINAL
    WHERE h.org_id = {org_id:UUID}
      AND h.agent_id = {agent_id:UUID}
      AND h.time >= fromUnixTimestamp64Micro({from:Int64}, 'UTC')
      AND h.time < fromUnixTimestamp64Micro({to:Int64}, 'UTC')
    GROUP BY time
    ORDER BY time
    LIMIT 10000`;
  const raw = await orgQuery(client, p.orgId, sql, {
    agent_id: p.agentId,
    from: p.from,
    to: p.to,
    step: stepS,
  });
  return { stepS, points: raw.map((r) => ZAgentHealthPoint.parse(r)) };
}
