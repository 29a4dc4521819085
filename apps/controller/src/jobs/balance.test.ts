import { describe, expect, it } from "vitest";
import { imbalance, planAssignments, type TAgentLoad, type TNode } from "./balance.ts";

/** Deterministic skewed rates: a few heavy agents, a long tail (Zipf-like, s = 0.8). */
function skewedAgents(n: number, nodeId: string | null): TAgentLoad[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `agent-${i}`,
    rate: Math.round(10_000 / (i + 1) ** 0.8),
    nodeId,
  }));
}
const nodes: TNode[] = [
  { id: "n1", capacity: 100 },
  { id: "n2", capacity: 100 },
  { id: "n3", capacity: 100 },
];

function apply(agents: TAgentLoad[], assignment: Map<string, string>): TAgentLoad[] {
  return agents.map((a) => ({ ...a, nodeId: assignment.get(a.id) ?? null }));
}

describe("data-node balancing", () => {
  it("3 nodes, 30 agents with skewed rates all on one node: max/mean at most 1.25; a second run moves none", () => {
    const agents = skewedAgents(30, "n1");
    expect(imbalance(nodes, agents, new Map(agents.map((a) => [a.id, "n1"])))).toBeCloseTo(3, 5);
    const first = planAssignments(nodes, agents);
    const ratio = imbalance(nodes, agents, first.assignment);
    expect(ratio).toBeLessThanOrEqual(1.25);
    expect(first.moves.length).toBeGreaterThan(0);
    const second = planAssignments(nodes, apply(agents, first.assignment));
    expect(second.moves).toEqual([]);
  });

  it("new agents are spread, and agents of a node that went down are reassigned to the others", () => {
    const agents = skewedAgents(30, null);
    const placed = planAssignments(nodes, agents);
    expect(placed.moves).toHaveLength(30);
    expect(imbalance(nodes, agents, placed.assignment)).toBeLessThanOrEqual(1.25);

    const survivors = nodes.filter((n) => n.id !== "n2");
    const after = planAssignments(survivors, apply(agents, placed.assignment));
    const moved = new Set(after.moves.map((m) => m.agentId));
    for (const a of agents) if (placed.assignment.get(a.id) === "n2") expect(moved.has(a.id)).toBe(true);
    expect([...after.assignment.values()].every((n) => n !== "n2")).toBe(true);
    expect(imbalance(survivors, apply(agents, after.assignment), after.assignment)).toBeLessThanOrEqual(1.25);
  });

  it("weighs node capacity: a node twice as big carries about twice the load", () => {
    const agents = Array.from({ length: 40 }, (_, i) => ({ id: `a${i}`, rate: 100, nodeId: null }));
    const { assignment } = planAssignments(
      [
        { id: "big", capacity: 200 },
        { id: "small", capacity: 100 },
      ],
      agents,
    );
    const onBig = [...assignment.values()].filter((n) => n === "big").length;
    expect(onBig).toBeGreaterThanOrEqual(25);
    expect(onBig).toBeLessThanOrEqual(28);
  });

  it("a small rate change inside the tolerance moves no agent", () => {
    const agents = skewedAgents(30, null);
    const placed = apply(agents, planAssignments(nodes, agents).assignment);
    const jittered = placed.map((a, i) => ({ ...a, rate: a.rate * (i % 2 ? 1.03 : 0.97) }));
    expect(planAssignments(nodes, jittered).moves).toEqual([]);
  });
});
