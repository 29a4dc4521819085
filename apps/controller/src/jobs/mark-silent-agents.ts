import type { Db } from "@flowplane/db/client";

/** Missed sync intervals after which an online agent is shown offline. */
export const SILENT_INTERVALS = 3;

/**
 * Marks agents that stopped syncing as offline, across every org: a platform job, hence unsafe
 * (one SQL statement, no row leaves the database). An agent's own interval counts (its group's),
 * so a group syncing every 60 s is not flagged after 30.
 */
export async function unsafeMarkSilentAgentsOffline(
  db: Db,
  intervals = SILENT_INTERVALS,
): Promise<{ orgId: string; agentId: string }[]> {
  const rows = await db.unsafe.$queryRaw<{ id: string; org_id: string }[]>`
    UPDATE agents a SET state = 'offline'
    FROM agent_groups g
    WHERE g.org_id = a.org_id AND g.id = a.group_id
      AND a.state IN ('online', 'degraded', 'pending')
      AND a.disabled_at IS NULL
      AND a.last_seen_at IS NOT NULL
      AND a.last_seen_at < now() - make_interval(secs => g.sync_interval_s * ${intervals}::int)
    RETURNING a.id, a.org_id`;
  return rows.map((r) => ({ orgId: r.org_id, agentId: r.id }));
}
