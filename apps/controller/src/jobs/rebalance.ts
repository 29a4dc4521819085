import type { Db } from "@flowplane/db/client";
import type { Redis } from "ioredis";
import { unsafeMarkSilentDataNodesDown } from "../ingest/data-node.ts";
import { observedRowsPerSecond } from "../ingest/observed-rates.ts";
import { planAssignments, type TBalanceOptions, type TMove } from "./balance.ts";

export type TRebalanceResult = { downNodes: string[]; moves: TMove[] };

/**
 * The balancing job, across every org (a platform job, hence unsafe): marks nodes without recent
 * heartbeats down, then places agents without a live node and evens out load by observed rows/s.
 * Agents learn their node at their next sync (SyncResponse.dataNode).
 */
export async function unsafeRebalanceDataNodes(
  db: Db,
  redis: Redis,
  opts: { nodeMissAfterS: number; balance?: Partial<TBalanceOptions>; now?: number },
): Promise<TRebalanceResult> {
  const downNodes = await unsafeMarkSilentDataNodesDown(db, opts.nodeMissAfterS);
  const nodes = await db.unsafe.dataNode.findMany({
    where: { state: "active" },
    select: { id: true, capacity: true },
  });
  if (nodes.length === 0) return { downNodes, moves: [] };
  const agents = await db.unsafe.agent.findMany({
    where: { disabledAt: null, state: { not: "disabled" } },
    select: { id: true, dataNodeId: true },
  });
  const rates = await observedRowsPerSecond(redis, opts.now);
  const { assignment, moves } = planAssignments(
    nodes,
    agents.map((a) => ({ id: a.id, nodeId: a.dataNodeId, rate: rates.get(a.id) ?? 0 })),
    opts.balance,
  );
  // Each move is conditional on the node the plan saw, so a concurrent change is not overwritten.
  for (const m of moves) {
    await db.unsafe.agent.updateMany({
      where: { id: m.agentId, dataNodeId: m.from },
      data: { dataNodeId: m.to },
    });
  }
  // The load the plan leaves each node with, for the console's data-node page.
  const load = new Map(nodes.map((n) => [n.id, 0]));
  const agentRate = new Map(agents.map((a) => [a.id, rates.get(a.id) ?? 0]));
  for (const [agentId, nodeId] of assignment)
    load.set(nodeId, (load.get(nodeId) ?? 0) + (agentRate.get(agentId) ?? 0));
  const measuredAt = new Date(opts.now ?? Date.now());
  for (const [id, rowsPerS] of load) {
    await db.unsafe.dataNode.update({
      where: { id },
      data: { observedRowsPerS: rowsPerS, loadMeasuredAt: measuredAt },
    });
  }
  return { downNodes, moves };
}
