import { seedAgent, seedAgentGroup, seedOrg } from "@flowplane/db/seed";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { unsafeHeartbeatDataNode, unsafeRegisterDataNode } from "../src/ingest/data-node.ts";
import { countStoredRows } from "../src/ingest/observed-rates.ts";
import { imbalance } from "../src/jobs/balance.ts";
import { unsafeRebalanceDataNodes } from "../src/jobs/rebalance.ts";
import { bearer, startHarness, syncBody, type THarness } from "./harness.ts";

describe("data nodes: registry, balancing by observed rate, failover", () => {
  let h: THarness;
  beforeAll(async () => {
    h = await startHarness("ctl_rebalance");
  });
  afterAll(async () => {
    await h?.close();
  });

  it("balances 30 agents of two orgs over 3 nodes, keeps them on a second run, moves a dead node's agents", async () => {
    const db = h.tdb.db;
    const suffix = crypto.randomUUID().slice(0, 8);
    const nodes = await Promise.all(
      [1, 2, 3].map((i) =>
        unsafeRegisterDataNode(db, {
          name: `dn-${suffix}-${i}`,
          url: `http://127.0.0.1:${7200 + i}`,
          capacity: 100,
        }),
      ),
    );
    const orgs = [await seedOrg(db), await seedOrg(db)];
    const agents: { id: string; orgId: string; credential: string }[] = [];
    for (let i = 0; i < 30; i++) {
      const org = orgs[i % 2] as { id: string };
      const group = await seedAgentGroup(db, org.id, { name: "default" });
      const a = await seedAgent(db, org.id, group.id);
      agents.push({ id: a.id, orgId: org.id, credential: a.credential });
    }
    // Skewed observed rates for the last complete minute, as ingest counts them.
    // One clock for the whole test: a minute boundary passing mid-test must not change the rates.
    const now = Date.now();
    const lastMinute = now - 60_000;
    const rateOf = new Map<string, number>();
    for (const [i, a] of agents.entries()) {
      const rows = Math.round(600_000 / (i + 1) ** 0.8);
      rateOf.set(a.id, rows / 60);
      await countStoredRows(h.redis, a.id, rows, lastMinute);
    }

    const first = await unsafeRebalanceDataNodes(db, h.redis, { nodeMissAfterS: 60, now });
    expect(first.moves).toHaveLength(30);
    const assignedNow = async () =>
      new Map(
        (await db.unsafe.agent.findMany({ where: { id: { in: agents.map((a) => a.id) } } })).map((a) => [
          a.id,
          a.dataNodeId as string,
        ]),
      );
    const loads = agents.map((a) => ({ id: a.id, rate: rateOf.get(a.id) ?? 0, nodeId: null }));
    const nodeList = nodes.map((n) => ({ id: n.id, capacity: n.capacity }));
    expect(imbalance(nodeList, loads, await assignedNow())).toBeLessThanOrEqual(1.25);
    // Each node's measured load (shown by the console) is the sum of its agents' rates.
    const assigned = await assignedNow();
    for (const n of await db.unsafe.dataNode.findMany({ where: { id: { in: nodes.map((x) => x.id) } } })) {
      const expected = agents
        .filter((a) => assigned.get(a.id) === n.id)
        .reduce((sum, a) => sum + (rateOf.get(a.id) ?? 0), 0);
      expect(n.observedRowsPerS).toBeCloseTo(expected, 6);
      expect(n.loadMeasuredAt?.getTime()).toBe(now);
    }

    const second = await unsafeRebalanceDataNodes(db, h.redis, { nodeMissAfterS: 60, now });
    expect(second).toEqual({ downNodes: [], moves: [] });

    // An agent learns its node at sync.
    const probe = agents[0] as (typeof agents)[number];
    const before = await assignedNow();
    const res = await h.app.inject({
      method: "POST",
      url: "/v1/agents/sync",
      headers: bearer(probe.credential),
      payload: syncBody(probe.id, { appliedRevision: 1 }),
    });
    expect(res.json().dataNode.url).toBe(nodes.find((n) => n.id === before.get(probe.id))?.url);

    // Node 2 stops heartbeating; the others keep going.
    const [n1, n2, n3] = nodes as [(typeof nodes)[0], (typeof nodes)[0], (typeof nodes)[0]];
    await db.unsafe.dataNode.update({
      where: { id: n2.id },
      data: { lastHealthAt: new Date(Date.now() - 120_000) },
    });
    await unsafeHeartbeatDataNode(db, n1.id);
    await unsafeHeartbeatDataNode(db, n3.id);
    const onN2 = agents.filter((a) => before.get(a.id) === n2.id).map((a) => a.id);
    expect(onN2.length).toBeGreaterThan(0);
    const failover = await unsafeRebalanceDataNodes(db, h.redis, { nodeMissAfterS: 60, now });
    expect(failover.downNodes).toEqual([n2.id]);
    expect(failover.moves.map((m) => m.agentId).sort()).toEqual([...onN2].sort());
    const after = await assignedNow();
    expect([...after.values()].includes(n2.id)).toBe(false);
    const survivors = nodeList.filter((n) => n.id !== n2.id);
    expect(imbalance(survivors, loads, after)).toBeLessThanOrEqual(1.25);

    // Node 2 comes back: it is active again and takes new agents, but nobody flaps back at once
    // unless the load is out of tolerance.
    await unsafeHeartbeatDataNode(db, n2.id);
    expect((await db.unsafe.dataNode.findUniqueOrThrow({ where: { id: n2.id } })).state).toBe("active");
  });
});
