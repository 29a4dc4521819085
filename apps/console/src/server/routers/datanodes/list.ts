import { DATA_NODE_MISS_AFTER_S } from "@flowplane/db";
import { z } from "zod";
import { orgProcedure } from "../../trpc/procedures.ts";

/** The controller's `nodeMissAfterS`: a node silent longer is (about to be) marked down. */
export const NODE_MISS_AFTER_S = DATA_NODE_MISS_AFTER_S;

const agentRef = z.object({ id: z.string(), name: z.string(), state: z.string() });

export const dataNodeRow = z.object({
  id: z.string(),
  name: z.string(),
  /** As the controller recorded it (active, draining, down). */
  state: z.enum(["active", "draining", "down"]),
  /** up: active with a recent heartbeat; late: active but silent past the miss time; down otherwise. */
  health: z.enum(["up", "late", "down"]),
  heartbeatAgeS: z.number().nullable(),
  capacity: z.number().int(),
  /** Stored rows/s of all the node's agents (every org), as the balancer measured it. */
  rowsPerS: z.number(),
  /** rowsPerS against the node's fair share of the fleet by capacity: 1 is exactly fair. */
  loadRatio: z.number().nullable(),
  loadMeasuredAt: z.string().nullable(),
  /** This organization's agents only. */
  agents: z.array(agentRef),
});

/**
 * Data nodes with their health and load, and which of this org's agents each serves. Nodes are
 * platform-wide (shared by tenants): the load is the node's total, never broken down by org, and
 * the agents listed are the caller's own.
 */
export const list = orgProcedure("agents.read")
  .output(z.object({ nodes: z.array(dataNodeRow), unassigned: z.array(agentRef) }))
  .query(async ({ ctx }) => {
    const [nodes, agents] = await Promise.all([
      ctx.platform.listDataNodes(),
      ctx.db.agent.findMany({
        where: { archivedAt: null, disabledAt: null },
        select: { id: true, name: true, state: true, dataNodeId: true },
        orderBy: [{ name: "asc" }, { id: "asc" }],
      }),
    ]);
    const now = Date.now();
    const live = nodes.filter((n) => n.state === "active");
    const totalRate = live.reduce((s, n) => s + n.observedRowsPerS, 0);
    const totalCapacity = live.reduce((s, n) => s + n.capacity, 0);
    const byNode = new Map<string, z.infer<typeof agentRef>[]>();
    const unassigned: z.infer<typeof agentRef>[] = [];
    const nodeState = new Map(nodes.map((n) => [n.id, n.state]));
    for (const { dataNodeId, ...a } of agents) {
      // An agent on a down node sends to the controller until the balancer moves it: unassigned.
      if (!dataNodeId || nodeState.get(dataNodeId) === "down") unassigned.push(a);
      else byNode.set(dataNodeId, [...(byNode.get(dataNodeId) ?? []), a]);
    }
    return {
      nodes: nodes.map((n) => {
        const ageS = n.lastHealthAt ? Math.max(0, (now - n.lastHealthAt.getTime()) / 1000) : null;
        const fair = totalRate > 0 && totalCapacity > 0 ? (totalRate * n.capacity) / totalCapacity : 0;
        return {
          id: n.id,
          name: n.name,
          state: n.state,
          health:
            n.state === "down"
              ? ("down" as const)
              : ageS === null || ageS > NODE_MISS_AFTER_S
                ? ("late" as const)
                : ("up" as const),
          heartbeatAgeS: ageS === null ? null : Math.round(ageS),
          capacity: n.capacity,
          rowsPerS: n.observedRowsPerS,
          loadRatio: n.state === "active" && fair > 0 ? n.observedRowsPerS / fair : null,
          loadMeasuredAt: n.loadMeasuredAt ? n.loadMeasuredAt.toISOString() : null,
          agents: byNode.get(n.id) ?? [],
        };
      }),
      unassigned,
    };
  });
