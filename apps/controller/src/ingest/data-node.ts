import type { Db } from "@flowplane/db/client";

/**
 * Data nodes are platform rows shared by every tenant: their registry is written through `unsafe`.
 * An ingest process registers itself at start (by name, so a restart reuses its row) and then
 * heartbeats; the fleet job marks a node down once its heartbeats stop.
 */
export function unsafeRegisterDataNode(db: Db, node: { name: string; url: string; capacity: number }) {
  const now = new Date();
  return db.unsafe.dataNode.upsert({
    where: { name: node.name },
    create: { ...node, state: "active", lastHealthAt: now },
    update: { url: node.url, capacity: node.capacity, state: "active", lastHealthAt: now },
  });
}

export async function unsafeHeartbeatDataNode(db: Db, id: string): Promise<void> {
  // A node that was marked down and heartbeats again is back in service.
  await db.unsafe.dataNode.updateMany({
    where: { id, state: { in: ["active", "down"] } },
    data: { lastHealthAt: new Date(), state: "active" },
  });
}

/** Nodes whose last heartbeat is older than `missAfterS` are marked down; returns their ids. */
export async function unsafeMarkSilentDataNodesDown(db: Db, missAfterS: number): Promise<string[]> {
  const cutoff = new Date(Date.now() - missAfterS * 1000);
  const silent = await db.unsafe.dataNode.findMany({
    where: { state: "active", OR: [{ lastHealthAt: null }, { lastHealthAt: { lt: cutoff } }] },
    select: { id: true },
  });
  if (silent.length === 0) return [];
  await db.unsafe.dataNode.updateMany({
    where: { id: { in: silent.map((n) => n.id) }, state: "active" },
    data: { state: "down" },
  });
  return silent.map((n) => n.id);
}
