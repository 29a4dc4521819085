/**
 * Data-node assignment: agents' observed telemetry rates balanced against node capacities.
 * Pure (no I/O) so it can be tested on any shape of fleet; the job feeds it from Postgres.
 */

export type TNode = { id: string; capacity: number };
export type TAgentLoad = { id: string; rate: number; nodeId: string | null };
export type TMove = { agentId: string; from: string | null; to: string };

export type TBalanceOptions = {
  /**
   * No agent moves while the busiest node's load is within this fraction above its fair share
   * (load / (total · capacity share)). Hysteresis: a balanced fleet stays put.
   */
  tolerance: number;
  /** Upper bound on moves per run, so one run never reshuffles the whole fleet. */
  maxMoves: number;
};

export const DEFAULT_BALANCE_OPTIONS: TBalanceOptions = { tolerance: 0.1, maxMoves: 1000 };

type TState = { load: Map<string, number>; share: Map<string, number> };

/** Load relative to the node's fair share: 1 is exactly fair. */
function relative(s: TState, nodeId: string): number {
  const share = s.share.get(nodeId) ?? 0;
  return share > 0 ? (s.load.get(nodeId) ?? 0) / share : Number.POSITIVE_INFINITY;
}

/** max over nodes of load / fair share; 1 is perfect balance. */
export function imbalance(nodes: TNode[], agents: TAgentLoad[], assignment: Map<string, string>): number {
  const s = stateOf(nodes, agents, assignment);
  let max = 0;
  for (const n of nodes) max = Math.max(max, relative(s, n.id));
  return max;
}

function stateOf(nodes: TNode[], agents: TAgentLoad[], assignment: Map<string, string>): TState {
  const total = agents.reduce((a, b) => a + Math.max(0, b.rate), 0);
  const capacity = nodes.reduce((a, b) => a + b.capacity, 0);
  const load = new Map(nodes.map((n) => [n.id, 0]));
  // A fleet sending nothing still spreads by capacity: count every agent as a small rate.
  const floor = total > 0 ? 0 : 1;
  const effTotal = total > 0 ? total : agents.length;
  for (const a of agents) {
    const node = assignment.get(a.id);
    if (node && load.has(node)) load.set(node, (load.get(node) ?? 0) + Math.max(0, a.rate) + floor);
  }
  const share = new Map(nodes.map((n) => [n.id, capacity > 0 ? (effTotal * n.capacity) / capacity : 0]));
  return { load, share };
}

/**
 * Plans moves: agents without a live node are placed first (largest rate first, each on the node
 * with the lowest load after placing it); then, only while the busiest node is above
 * 1 + tolerance of its fair share, the single move that lowers the pair's peak most is made.
 */
export function planAssignments(
  nodes: TNode[],
  agents: TAgentLoad[],
  options: Partial<TBalanceOptions> = {},
): { assignment: Map<string, string>; moves: TMove[] } {
  const o = { ...DEFAULT_BALANCE_OPTIONS, ...options };
  const live = nodes.filter((n) => n.capacity > 0);
  const liveIds = new Set(live.map((n) => n.id));
  const assignment = new Map<string, string>();
  const moves: TMove[] = [];
  if (live.length === 0) return { assignment, moves };
  const rateOf = (a: TAgentLoad) => Math.max(0, a.rate);

  for (const a of agents) if (a.nodeId && liveIds.has(a.nodeId)) assignment.set(a.id, a.nodeId);
  const s = stateOf(live, agents, assignment);
  const total = agents.reduce((x, a) => x + rateOf(a), 0);
  const weight = (a: TAgentLoad) => (total > 0 ? rateOf(a) : 1);

  const orphans = agents.filter((a) => !assignment.has(a.id)).sort((x, y) => weight(y) - weight(x));
  for (const a of orphans) {
    let best = live[0] as TNode;
    let bestAfter = Number.POSITIVE_INFINITY;
    for (const n of live) {
      const after = ((s.load.get(n.id) ?? 0) + weight(a)) / (s.share.get(n.id) ?? 1);
      if (after < bestAfter) {
        bestAfter = after;
        best = n;
      }
    }
    assignment.set(a.id, best.id);
    s.load.set(best.id, (s.load.get(best.id) ?? 0) + weight(a));
    moves.push({ agentId: a.id, from: a.nodeId, to: best.id });
  }

  const byNode = (nodeId: string) => agents.filter((a) => assignment.get(a.id) === nodeId);
  for (let i = 0; i < o.maxMoves; i++) {
    const sorted = [...live].sort((x, y) => relative(s, y.id) - relative(s, x.id));
    const hot = sorted[0] as TNode;
    if (relative(s, hot.id) <= 1 + o.tolerance) break;
    let best: { agent: TAgentLoad; to: TNode; peak: number } | null = null;
    const currentPeak = relative(s, hot.id);
    for (const cold of sorted.slice(1)) {
      for (const a of byNode(hot.id)) {
        const w = weight(a);
        const hotAfter = ((s.load.get(hot.id) ?? 0) - w) / (s.share.get(hot.id) ?? 1);
        const coldAfter = ((s.load.get(cold.id) ?? 0) + w) / (s.share.get(cold.id) ?? 1);
        const peak = Math.max(hotAfter, coldAfter);
        if (peak < currentPeak - 1e-9 && (!best || peak < best.peak)) best = { agent: a, to: cold, peak };
      }
    }
    if (!best) break; // no single move helps (one agent bigger than a fair share)
    const w = weight(best.agent);
    s.load.set(hot.id, (s.load.get(hot.id) ?? 0) - w);
    s.load.set(best.to.id, (s.load.get(best.to.id) ?? 0) + w);
    assignment.set(best.agent.id, best.to.id);
    const earlier = moves.find((m) => m.agentId === (best as { agent: TAgentLoad }).agent.id);
    if (earlier) earlier.to = best.to.id;
    else moves.push({ agentId: best.agent.id, from: hot.id, to: best.to.id });
  }
  return { assignment, moves: moves.filter((m) => m.from !== m.to) };
}
