/**
 * Packet-broker distribution at sync (issue 8): the org's policies for the agent's group in
 * priority order, the designated map from agents' reported host addresses, a revision that moves
 * on a policy edit, and tenant isolation: another org's policies never reach this org's agents.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DESIGNATED_MAX_SILENCE_S } from "../src/npb/distribute.ts";
import { bearer, enroll, seedTenant, startHarness, syncBody, type THarness } from "./harness.ts";

let h: THarness;
beforeAll(async () => {
  h = await startHarness("npb_sync");
});
afterAll(async () => {
  await h?.close();
});

const action = (vni: number) => ({
  destinations: [{ address: "192.0.2.10" }],
  encap: { type: "vxlan", vni },
});

async function sync(credential: string, agentId: string, extra: Record<string, unknown> = {}) {
  const res = await h.app.inject({
    method: "POST",
    url: "/v1/agents/sync",
    headers: bearer(credential),
    payload: syncBody(agentId, extra),
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

describe("packet-broker policies at sync", () => {
  it("sends the group's policies in priority order, the map of live peers, and a new revision on edit", async () => {
    const a = await seedTenant(h);
    const b = await seedTenant(h);
    const dbA = h.tdb.db.forOrg(a.org.id);
    const dbB = h.tdb.db.forOrg(b.org.id);
    const otherGroup = await dbA.agentGroup.create({ data: { orgId: a.org.id, name: "other" } });
    await dbA.packetBrokerPolicy.create({
      data: { orgId: a.org.id, name: "second", priority: 20, match: {}, action: action(2) },
    });
    await dbA.packetBrokerPolicy.create({
      data: {
        orgId: a.org.id,
        name: "first",
        priority: 10,
        match: { protocols: ["tcp"] },
        action: action(1),
        groupIds: [a.group.id],
        continueMatching: true,
      },
    });
    await dbA.packetBrokerPolicy.create({
      data: {
        orgId: a.org.id,
        name: "elsewhere",
        priority: 5,
        match: {},
        action: action(3),
        groupIds: [otherGroup.id],
      },
    });
    await dbA.packetBrokerPolicy.create({
      data: { orgId: a.org.id, name: "off", priority: 1, enabled: false, match: {}, action: action(4) },
    });
    // Invalid as stored (host bits set): skipped, never sent.
    await dbA.packetBrokerPolicy.create({
      data: {
        orgId: a.org.id,
        name: "broken",
        priority: 2,
        match: { clientCidrs: ["10.1.2.0/16"] },
        action: action(5),
      },
    });
    await dbB.packetBrokerPolicy.create({
      data: { orgId: b.org.id, name: "org b", priority: 1, match: {}, action: action(9) },
    });

    const a1 = await enroll(h, a.token.token);
    const a2 = await enroll(h, a.token.token);
    const b1 = await enroll(h, b.token.token);

    // An agent that does not speak NPB gets nothing new.
    const old = await sync(a1.credential, a1.agentId);
    expect(old.npb).toBeUndefined();

    await sync(a2.credential, a2.agentId, { hostIps: ["10.0.0.2", "fe80::2", "127.0.0.1"], npbRevision: "" });
    const r1 = await sync(a1.credential, a1.agentId, { hostIps: ["10.0.0.1", "10.0.0.2"], npbRevision: "" });
    expect(r1.npb.policies.map((p: { name: string }) => p.name)).toEqual(["first", "second"]);
    expect(r1.npb.policies[0]).toMatchObject({
      orgId: a.org.id,
      agentGroups: [a.group.id],
      priority: 10,
      continue: true,
    });
    expect(r1.npb.policies[1]).toMatchObject({ continue: false });
    // 10.0.0.2 is claimed twice: the agent enrolled first (a1) owns it. Link-local and loopback
    // addresses are never mapped, so a2 has no entry.
    expect(r1.npb.designatedMap.agents).toEqual([
      { agentId: a1.agentId, addresses: ["10.0.0.1", "10.0.0.2"] },
    ]);

    // Same revision: nothing resent.
    const again = await sync(a1.credential, a1.agentId, { npbRevision: r1.npb.revision });
    expect(again.npb).toBeUndefined();

    // a1 gives up 10.0.0.2: a2 owns it, and the revision moves for both.
    const r2 = await sync(a1.credential, a1.agentId, { hostIps: ["10.0.0.1"], npbRevision: r1.npb.revision });
    expect(r2.npb.revision).not.toBe(r1.npb.revision);
    expect(r2.npb.designatedMap.agents).toEqual([
      { agentId: a1.agentId, addresses: ["10.0.0.1"] },
      { agentId: a2.agentId, addresses: ["10.0.0.2"] },
    ]);

    // A policy edit reaches the agent at its next sync.
    await dbA.packetBrokerPolicy.updateMany({ where: { name: "second" }, data: { priority: 5 } });
    const r3 = await sync(a1.credential, a1.agentId, { npbRevision: r2.npb.revision });
    expect(r3.npb.policies.map((p: { name: string }) => p.name)).toEqual(["second", "first"]);

    // Org B's agent sees only org B's policy, and no org A agent in its map.
    const rb = await sync(b1.credential, b1.agentId, { hostIps: ["10.0.0.1"], npbRevision: "" });
    expect(rb.npb.policies.map((p: { name: string; orgId: string }) => [p.name, p.orgId])).toEqual([
      ["org b", b.org.id],
    ]);
    expect(rb.npb.designatedMap.agents).toEqual([{ agentId: b1.agentId, addresses: ["10.0.0.1"] }]);
    // ... and org A's agents never see org B's.
    const ra = await sync(a2.credential, a2.agentId, { npbRevision: "" });
    expect(ra.npb.policies.map((p: { name: string }) => p.name)).not.toContain("org b");
    expect(JSON.stringify(ra.npb)).not.toContain(b1.agentId);
  });

  it("withdraws a silent agent's addresses; counters it cannot store are handed back", async () => {
    const a = await seedTenant(h);
    const dbA = h.tdb.db.forOrg(a.org.id);
    await dbA.packetBrokerPolicy.create({
      data: { orgId: a.org.id, name: "all", priority: 1, match: {}, action: action(1) },
    });
    const a1 = await enroll(h, a.token.token);
    const a2 = await enroll(h, a.token.token);
    await sync(a2.credential, a2.agentId, { hostIps: ["10.9.0.2"], npbRevision: "" });
    const live = await sync(a1.credential, a1.agentId, { hostIps: ["10.9.0.1"], npbRevision: "" });
    expect(live.npb.designatedMap.agents).toHaveLength(2);
    await dbA.agent.updateMany({
      where: { id: a2.agentId },
      data: { lastSeenAt: new Date(Date.now() - (DESIGNATED_MAX_SILENCE_S + 5) * 1000) },
    });
    const silent = await sync(a1.credential, a1.agentId, { npbRevision: live.npb.revision });
    expect(silent.npb.designatedMap.agents).toEqual([{ agentId: a1.agentId, addresses: ["10.9.0.1"] }]);

    // This harness stores no counters: the agent is told to keep them.
    const policyId = live.npb.policies[0].id;
    const zero = {
      sent: 0,
      bytes: 0,
      truncated: 0,
      deduplicated: 0,
      notDesignated: 0,
      droppedByCap: 0,
      encapErrors: 0,
    };
    const res = await sync(a1.credential, a1.agentId, { npbCounters: [{ policyId, matched: 3, ...zero }] });
    expect(res.npbCountersAccepted).toBe(false);
  });
});
