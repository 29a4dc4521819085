import type { Db } from "@flowplane/db/client";

/** Default time an agent must have been silent before the archive job archives it: 30 days. */
export const DEFAULT_ARCHIVE_AFTER_S = 30 * 24 * 3600;

export type TArchiveEvent = {
  orgId: string;
  agentId: string;
  action: "archived" | "restored";
  lastSeenAt: Date | null;
};

/**
 * Archives agents silent for `afterS` (offline, or pending and never seen since enrolment), across
 * every org: a platform job, hence unsafe. Nothing is deleted: the row keeps its history and
 * credential, the console lists it under "archived", and each change writes an audit row (actor
 * `system`) in the agent's org, in the same statement, so no archive goes unrecorded. An archived
 * agent that synced since (sync sets last_seen_at) is restored the same way.
 */
export async function unsafeArchiveSilentAgents(db: Db, opts: { afterS: number }): Promise<TArchiveEvent[]> {
  const afterS = Math.max(1, Math.floor(opts.afterS));
  const archived = await db.unsafe.$queryRaw<{ id: string; org_id: string; last_seen_at: Date | null }[]>`
    WITH moved AS (
      UPDATE agents SET archived_at = now()
      WHERE archived_at IS NULL
        AND state IN ('offline', 'pending', 'disabled')
        AND coalesce(last_seen_at, enrolled_at) < now() - make_interval(secs => ${afterS}::int)
      RETURNING id, org_id, state, last_seen_at, archived_at
    ), audited AS (
      INSERT INTO audit_logs (org_id, actor_type, action, target_type, target_id, before, after)
      SELECT org_id, 'system'::actor_type, 'agents.archive', 'agent', id::text,
             jsonb_build_object('archivedAt', null, 'state', state, 'lastSeenAt', last_seen_at),
             jsonb_build_object('archivedAt', archived_at, 'reason',
               format('no heartbeat for over %s s', ${afterS}::int))
      FROM moved
    )
    SELECT id, org_id, last_seen_at FROM moved`;
  const restored = await db.unsafe.$queryRaw<{ id: string; org_id: string; last_seen_at: Date | null }[]>`
    WITH moved AS (
      UPDATE agents a SET archived_at = NULL
      FROM (SELECT id, archived_at AS was FROM agents
            WHERE archived_at IS NOT NULL AND last_seen_at > archived_at FOR UPDATE) prev
      WHERE a.id = prev.id
      RETURNING a.id, a.org_id, a.state, a.last_seen_at, prev.was
    ), audited AS (
      INSERT INTO audit_logs (org_id, actor_type, action, target_type, target_id, before, after)
      SELECT org_id, 'system'::actor_type, 'agents.restore', 'agent', id::text,
             jsonb_build_object('archivedAt', was),
             jsonb_build_object('archivedAt', null, 'state', state, 'lastSeenAt', last_seen_at,
               'reason', 'the agent synced again')
      FROM moved
    )
    SELECT id, org_id, last_seen_at FROM moved`;
  return [
    ...archived.map((r) => ({
      orgId: r.org_id,
      agentId: r.id,
      action: "archived" as const,
      lastSeenAt: r.last_seen_at,
    })),
    ...restored.map((r) => ({
      orgId: r.org_id,
      agentId: r.id,
      action: "restored" as const,
      lastSeenAt: r.last_seen_at,
    })),
  ];
}
