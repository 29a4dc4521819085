import type { Db } from "@flowplane/db/client";
import { ZAgentStats } from "@flowplane/protocol";
import { recordAgentHealth, type TAgentHealthSample } from "@flowplane/query";
import type { ClickHouseClient } from "@flowplane/query/client";

/**
 * Copies every agent's latest heartbeat (state and self-statistics from its agents row) into the
 * ClickHouse `agent_health` table, across every org: a platform job, hence unsafe. Runs every
 * sync interval; a heartbeat is written with its own time, so one sampled on two ticks is one row
 * after merges, and two heartbeats between ticks keep only the later (history is at tick
 * resolution). Only agents seen within `windowS` are copied: a silent agent stops adding rows.
 */
export async function unsafeRecordAgentHealth(
  db: Db,
  clickhouse: ClickHouseClient,
  opts: { windowS: number; now?: Date },
): Promise<number> {
  const since = new Date((opts.now ?? new Date()).getTime() - opts.windowS * 1000);
  const agents = await db.unsafe.agent.findMany({
    where: { lastSeenAt: { gte: since } },
    select: { id: true, orgId: true, lastSeenAt: true, state: true, protectiveMode: true, stats: true },
  });
  const samples: TAgentHealthSample[] = [];
  for (const a of agents) {
    if (!a.lastSeenAt) continue;
    // Stats were validated by sync; an agent row without them (never synced fully) is skipped.
    const stats = ZAgentStats.safeParse(a.stats);
    if (!stats.success) continue;
    samples.push({
      orgId: a.orgId,
      agentId: a.id,
      time: a.lastSeenAt,
      state: a.state,
      protective: a.protectiveMode,
      cpuPct: stats.data.cpuPct,
      memBytes: stats.data.memBytes,
      packetsPerS: stats.data.packetsPerS,
      bytesPerS: stats.data.bytesPerS,
      drops: stats.data.drops,
      flows: stats.data.flows,
      spoolBytes: stats.data.spoolBytes,
      version: stats.data.version,
    });
  }
  return recordAgentHealth(clickhouse, samples);
}
