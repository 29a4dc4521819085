import { randomUUID } from "node:crypto";
import { seedAgentGroup, seedMembership, seedOrg, seedUser } from "@flowplane/db/seed";
import { createTestDatabase, type TestDatabase } from "@flowplane/db/testing";
import { recordNpbCounters } from "@flowplane/query";
import { createTestClickhouse, type TestClickhouse } from "@flowplane/query/testing";
import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setAnalysisClickhouse } from "../analysis/shared.ts";
import { callerAs } from "../test-callers.ts";

// Packet-broker policies through the real router, real Postgres and ClickHouse, as members of two orgs.
let t: TestDatabase;
let ch: TestClickhouse;
const ids = {} as {
  ownerA: string;
  viewerA: string;
  ownerB: string;
  slugA: string;
  slugB: string;
  orgA: string;
  groupA: string;
};
const as = (userId: string) => callerAs(t.db, userId);
async function failure(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
    return { code: "OK", message: "" };
  } catch (err) {
    return err instanceof TRPCError
      ? { code: err.code, message: err.message }
      : { code: "?", message: String(err) };
  }
}

beforeAll(async () => {
  t = await createTestDatabase("console_npb");
  ch = await createTestClickhouse("console_npb");
  setAnalysisClickhouse(ch.client);
  const orgA = await seedOrg(t.db);
  const orgB = await seedOrg(t.db);
  const [ownerA, viewerA, ownerB] = [await seedUser(t.db), await seedUser(t.db), await seedUser(t.db)];
  await seedMembership(t.db, { orgId: orgA.id, userId: ownerA.id, role: "owner" });
  await seedMembership(t.db, { orgId: orgA.id, userId: viewerA.id, role: "viewer" });
  await seedMembership(t.db, { orgId: orgB.id, userId: ownerB.id, role: "owner" });
  const groupA = await seedAgentGroup(t.db, orgA.id, { name: "edge" });
  Object.assign(ids, {
    ownerA: ownerA.id,
    viewerA: viewerA.id,
    ownerB: ownerB.id,
    slugA: orgA.slug,
    slugB: orgB.slug,
    orgA: orgA.id,
    groupA: groupA.id,
  });
});
afterAll(async () => {
  setAnalysisClickhouse(undefined);
  await ch?.drop();
  await t?.drop();
});

const action = { destinations: [{ address: "192.0.2.10" }], encap: { type: "vxlan", vni: 100 } };

describe("npb router", () => {
  it("refuses an invalid policy with one line per problem naming the field", async () => {
    const api = await as(ids.ownerA);
    const r = await failure(
      api.npb.save({
        orgSlug: ids.slugA,
        name: "bad",
        priority: 1,
        enabled: true,
        groupIds: [],
        match: { clientCidrs: ["10.0.0.0/8", "10.1.2.0/16"], serverPorts: [443], protocols: ["icmp"] },
        action: { destinations: [{ address: "2001:db8::1" }], encap: { type: "vxlan", vni: 1 } },
      }),
    );
    expect(r.code).toBe("BAD_REQUEST");
    expect(r.message).toContain("match.clientCidrs[1]: host bits set; did you mean 10.1.0.0/16?");
    expect(r.message).toContain("match.serverPorts: ports can only match tcp or udp");
    expect(r.message).toContain("action.destinations[0].address: IPv6 destinations are not supported yet");
    const foreignGroup = await failure(
      api.npb.save({
        orgSlug: ids.slugA,
        name: "g",
        priority: 1,
        enabled: true,
        groupIds: [randomUUID()],
        match: {},
        action,
      }),
    );
    expect(foreignGroup).toMatchObject({
      code: "BAD_REQUEST",
      message: expect.stringContaining("groupIds[0]: no such agent group"),
    });
  });

  it("creates, lists, updates and deletes within the org; other orgs and viewers cannot", async () => {
    const owner = await as(ids.ownerA);
    const { id } = await owner.npb.save({
      orgSlug: ids.slugA,
      name: "web to ids",
      priority: 10,
      enabled: true,
      groupIds: [ids.groupA],
      continueMatching: true,
      match: { serverPorts: [443], protocols: ["tcp"] },
      action: { ...action, truncatePayload: 128 },
    });
    const listed = await owner.npb.list({ orgSlug: ids.slugA });
    expect(listed.policies).toHaveLength(1);
    expect(listed.policies[0]).toMatchObject({
      id,
      groupIds: [ids.groupA],
      continueMatching: true,
      action: { truncatePayload: 128 },
    });
    expect(listed.groups.map((g) => g.name)).toEqual(["edge"]);

    const dup = await failure(
      owner.npb.save({
        orgSlug: ids.slugA,
        name: "web to ids",
        priority: 1,
        enabled: true,
        groupIds: [],
        match: {},
        action,
      }),
    );
    expect(dup.code).toBe("CONFLICT");

    const viewer = await as(ids.viewerA);
    expect((await viewer.npb.list({ orgSlug: ids.slugA })).policies).toHaveLength(1);
    expect(
      (
        await failure(
          viewer.npb.save({
            orgSlug: ids.slugA,
            id,
            name: "x",
            priority: 1,
            enabled: true,
            groupIds: [],
            match: {},
            action,
          }),
        )
      ).code,
    ).toBe("FORBIDDEN");

    const other = await as(ids.ownerB);
    expect((await other.npb.list({ orgSlug: ids.slugB })).policies).toHaveLength(0);
    expect(
      (
        await failure(
          other.npb.save({
            orgSlug: ids.slugB,
            id,
            name: "stolen",
            priority: 1,
            enabled: true,
            groupIds: [],
            match: {},
            action,
          }),
        )
      ).code,
    ).toBe("NOT_FOUND");
    expect((await failure(other.npb.remove({ orgSlug: ids.slugB, id }))).code).toBe("NOT_FOUND");
    expect((await failure(other.npb.list({ orgSlug: ids.slugA }))).code).toBe("NOT_FOUND");

    await owner.npb.save({
      orgSlug: ids.slugA,
      id,
      name: "web to ids",
      priority: 5,
      enabled: false,
      groupIds: [],
      match: {},
      action,
    });
    expect((await owner.npb.list({ orgSlug: ids.slugA })).policies[0]).toMatchObject({
      priority: 5,
      enabled: false,
    });
    await owner.npb.remove({ orgSlug: ids.slugA, id });
    expect((await owner.npb.list({ orgSlug: ids.slugA })).policies).toHaveLength(0);
  });

  it("reads the org's per-policy counters, per agent", async () => {
    const policyId = randomUUID();
    const agentId = randomUUID();
    const zero = { truncated: 0, deduplicated: 0, notDesignated: 0, droppedByCap: 0, encapErrors: 0 };
    await recordNpbCounters(ch.client, ids.orgA, agentId, new Date(), [
      { policyId, matched: 5, sent: 4, bytes: 400, ...zero },
    ]);
    const now = Date.now() * 1000;
    const owner = await as(ids.ownerA);
    const rows = await owner.npb.counters({
      orgSlug: ids.slugA,
      from: now - 3_600_000_000,
      to: now + 60_000_000,
      byAgent: true,
    });
    expect(rows).toEqual([
      expect.objectContaining({ policy_id: policyId, agent_id: agentId, matched: 5, sent: 4 }),
    ]);
    const other = await as(ids.ownerB);
    expect(
      await other.npb.counters({ orgSlug: ids.slugB, from: now - 3_600_000_000, to: now + 60_000_000 }),
    ).toEqual([]);
  });
});
