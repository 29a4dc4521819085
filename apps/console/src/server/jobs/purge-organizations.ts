import type { Db } from "../db.ts";

/**
 * The job hook for deleted organizations: removes from Postgres every org whose grace period
 * (`delete_after`) has passed; every tenant table cascades from `organizations`. Run it from a
 * scheduler (cron, or a BullMQ job scheduler once the job runner exists). ClickHouse rows of the
 * org are NOT removed here yet: they age out by TTL (see apps/console/README.md).
 */
export async function purgeDeletedOrganizations(db: Db, now = new Date()): Promise<string[]> {
  const due = await db.unsafe.organization.findMany({
    where: { deletedAt: { not: null }, deleteAfter: { lte: now } },
    select: { id: true },
  });
  const ids = due.map((o) => o.id);
  if (ids.length > 0) await db.unsafe.organization.deleteMany({ where: { id: { in: ids } } });
  return ids;
}
