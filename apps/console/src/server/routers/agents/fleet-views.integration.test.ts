import { createServer } from "node:net";
import { canaryIds } from "@flowplane/db";
import { seedAgent, seedAgentGroup, seedMembership, seedOrg, seedUser } from "@flowplane/db/seed";
import { createTestDatabase, type TestDatabase } from "@flowplane/db/testing";
import { recordAgentHealth } from "@flowplane/query";
import { createClickhouse } from "@flowplane/query/client";
import { createTestClickhouse, type TestClickhouse } from "@flowplane/query/testing";
import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setAnalysisClickhouse } from "../analysis/shared.ts";
import { callerAs, codeOf } from "../test-callers.ts";

// The fleet views (rollout progress, health history, hidden/archived agents, data nodes) against
// real Postgres and ClickHouse, through the real router, as members of two orgs.
let t: TestDatabase;
let ch: TestClickhouse;
const DAY_MS = 86_400_000;
const ids = {} as {
  ownerA: string;
  viewerA: string;
  ownerB: string;
  slugA: string;
  slugB: string;
  orgA: string;
  groupA: string;
  agentsA: string[];
  agentB: string;
  node1: string;
};

const as = (userId: string) => callerAs(t.db, userId);

beforeAll(async () => {
  t = await createTestDatabase("console_fleet");
  ch = await createTestClickhouse("console_fleet");
  setAnalysisClickhouse(ch.client);
  const orgA = await seedOrg(t.db);
  const orgB = await seedOrg(t.db);
  const [ownerA, viewerA, ownerB] = [await seedUser(t.db), await seedUser(t.db), await seedUser(t.db)];
  await seedMembership(t.db, { orgId: orgA.id, userId: ownerA.id, role: "owner" });
  await seedMembership(t.db, { orgId: orgA.id, userId: viewerA.id, role: "viewer" });
  await seedMembership(t.db, { orgId: orgB.id, userId: ownerB.id, role: "owner" });
  const groupA = await seedAgentGroup(t.db, orgA.id, { name: "edge" });
  const agentsA: string[] = [];
  for (let i = 0; i < 5; i++) agentsA.push((await seedAgent(t.db, orgA.id, groupA.id)).id);
  const agentB = (await seedAgent(t.db, orgB.id)).id;
  const [node1, node2] = await Promise.all(
    ["dn-1", "dn-2"].map((name, i) =>
      t.db.unsafe.dataNode.create({
        data: {
          name: `${name}-${orgA.id.slice(0, 6)}`,
          url: `http://127.0.0.1:${7300 + i}`,
          capacity: 100,
          lastHealthAt: new Date(),
          observedRowsPerS: i === 0 ? 300 : 100,
          loadMeasuredAt: new Date(),
        },
      }),
    ),
  );
  await t.db.unsafe.agent.updateMany({
    where: { id: { in: agentsA.slice(0, 3) } },
    data: { dataNodeId: node1?.id },
  });
  await t.db.unsafe.agent.update({ where: { id: agentB }, data: { dataNodeId: node2?.id } });
  Object.assign(ids, {
    ownerA: ownerA.id,
    viewerA: viewerA.id,
    ownerB: ownerB.id,
    slugA: orgA.slug,
    slugB: orgB.slug,
    orgA: orgA.id,
    groupA: groupA.id,
    agentsA,
    agentB,
    node1: node1?.id,
  });
});
afterAll(async () => {
  setAnalysisClickhouse(undefined);
  await ch?.drop();
  await t?.drop();
});

describe("staged rollout progress", () => {
  it("shows each agent's status for the revision, the canary stage, then the halt", async () => {
    const api = await as(ids.viewerA);
    // Before any staged change: every agent runs r1, the group is complete.
    const idle = await api.groups.rollout({ orgSlug: ids.slugA, groupId: ids.groupA });
    expect(idle.phase).toBe("complete");
    expect(idle.counts).toEqual({ applied: 0, failed: 0, pending: 5, held_back: 0 });

    // r2 saved with a 40 % canary: the controller's job started the rollout a minute ago.
    await t.db.unsafe.agent.updateMany({ where: { groupId: ids.groupA }, data: { appliedRevision: 1 } });
    await t.db.unsafe.agentGroup.update({
      where: { id: ids.groupA },
      data: {
        currentRevision: 2,
        stableRevision: 1,
        canaryPercent: 40,
        canaryHoldS: 300,
        rolloutRevision: 2,
        rolloutState: "canary",
        rolloutStartedAt: new Date(Date.now() - 60_000),
      },
    });
    const canaries = [...canaryIds(ids.groupA, ids.agentsA, 40)];
    expect(canaries).toHaveLength(2);
    const [ok, bad] = canaries as [string, string];
    await t.db.unsafe.agent.update({ where: { id: ok }, data: { appliedRevision: 2 } });
    await t.db.unsafe.agent.update({
      where: { id: bad },
      data: { lastConfigRevision: 2, lastConfigOk: false, lastConfigError: "no such device: eth9" },
    });
    const canary = await api.groups.rollout({ orgSlug: ids.slugA, groupId: ids.groupA });
    expect(canary).toMatchObject({
      phase: "canary",
      currentRevision: 2,
      stableRevision: 1,
      canaryPercent: 40,
    });
    expect(canary.holdRemainingS).toBeGreaterThan(200);
    expect(canary.holdRemainingS).toBeLessThanOrEqual(240);
    expect(canary.counts).toEqual({ applied: 1, failed: 1, pending: 0, held_back: 3 });
    const byId = new Map(canary.agents.map((a) => [a.id, a]));
    expect(byId.get(ok)).toMatchObject({ canary: true, status: "applied", targetRevision: 2 });
    expect(byId.get(bad)).toMatchObject({ canary: true, status: "failed", error: "no such device: eth9" });
    for (const id of ids.agentsA.filter((x) => !canaries.includes(x)))
      expect(byId.get(id)).toMatchObject({ canary: false, status: "held_back", targetRevision: 1 });

    // The job halts it: canaries fall back to r1 and the page says why.
    await t.db.unsafe.agentGroup.update({
      where: { id: ids.groupA },
      data: { rolloutState: "halted", rolloutMessage: `canary agent ${bad} failed revision 2` },
    });
    const halted = await api.groups.rollout({ orgSlug: ids.slugA, groupId: ids.groupA });
    expect(halted.phase).toBe("halted");
    expect(halted.rolloutMessage).toContain(bad);
    expect(halted.holdRemainingS).toBeNull();
    expect(halted.agents.every((a) => a.targetRevision === 1)).toBe(true);
  });

  it("editors set the canary share and hold (audited); viewers may not", async () => {
    const owner = await as(ids.ownerA);
    await owner.groups.setRollout({
      orgSlug: ids.slugA,
      groupId: ids.groupA,
      canaryPercent: 25,
      canaryHoldS: 120,
    });
    const audit = await t.db.unsafe.auditLog.findFirst({
      where: { action: "groups.rollout.set", targetId: ids.groupA },
    });
    expect(audit?.after).toEqual({ canaryPercent: 25, canaryHoldS: 120 });
    const viewer = await as(ids.viewerA);
    expect(
      await codeOf(
        viewer.groups.setRollout({
          orgSlug: ids.slugA,
          groupId: ids.groupA,
          canaryPercent: 50,
          canaryHoldS: 60,
        }),
      ),
    ).toBe("FORBIDDEN");
    expect(
      await codeOf(
        owner.groups.setRollout({
          orgSlug: ids.slugA,
          groupId: ids.groupA,
          canaryPercent: 0,
          canaryHoldS: 60,
        }),
      ),
    ).toBe("BAD_REQUEST");
  });
});

describe("health history", () => {
  it("charts an agent's heartbeats from ClickHouse, per step", async () => {
    const agentId = ids.agentsA[0] as string;
    const t0 = Date.now() - 10 * 60_000;
    await recordAgentHealth(
      ch.client,
      [0, 10, 20].map((s, i) => ({
        orgId: ids.orgA,
        agentId,
        time: new Date(t0 + s * 1000),
        state: i === 2 ? "degraded" : "online",
        protective: i === 2,
        cpuPct: 10 * (i + 1),
        memBytes: 50_000_000,
        packetsPerS: 1200,
        bytesPerS: 600_000,
        drops: i,
        flows: 12,
        spoolBytes: 0,
        version: "0.1.0",
      })),
    );
    const api = await as(ids.viewerA);
    const h = await api.agents.health({
      orgSlug: ids.slugA,
      agentId,
      from: (t0 - 60_000) * 1000,
      to: (t0 + 60_000) * 1000,
    });
    expect(h.stepS).toBe(10);
    expect(h.points.map((p) => [p.cpu_pct, p.drops, p.state])).toEqual([
      [10, 0, "online"],
      [20, 1, "online"],
      [30, 2, "protective"],
    ]);
    expect(
      await codeOf(api.agents.health({ orgSlug: ids.slugA, agentId, from: 0, to: 40 * DAY_MS * 1000 })),
    ).toBe("BAD_REQUEST");
  });
  it("answers SERVICE_UNAVAILABLE with a readable sentence when ClickHouse does not answer", async () => {
    // A port that was just free: nothing listens, so connecting is refused at once.
    const port = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, "127.0.0.1", () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => resolve(p));
      });
    });
    setAnalysisClickhouse(createClickhouse({ url: `http://127.0.0.1:${port}`, database: "flowplane" }));
    try {
      const api = await as(ids.viewerA);
      const err = await api.agents
        .health({ orgSlug: ids.slugA, agentId: ids.agentsA[0] as string, from: 0, to: 3_600_000_000 })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err).toBeInstanceOf(TRPCError);
      expect((err as TRPCError).code).toBe("SERVICE_UNAVAILABLE");
      expect((err as TRPCError).message).toBe(
        "health history unavailable: the telemetry store did not answer",
      );
      // The agent itself still reads from Postgres.
      expect((await api.agents.get({ orgSlug: ids.slugA, agentId: ids.agentsA[0] as string })).id).toBe(
        ids.agentsA[0],
      );
    } finally {
      setAnalysisClickhouse(ch.client);
    }
  });
});

describe("overload on the agent detail", () => {
  it("returns the governor's step and reason from the last heartbeat, null when the agent does not say", async () => {
    const agentId = ids.agentsA[1] as string;
    const overload = {
      step: "protective",
      reason: "CPU 63% of host above maxCpuPct 50",
      elapsedS: 120,
      offeredPackets: 1000,
      processedPackets: 700,
      shedPackets: 300,
      shedBytes: 30_000,
      stoppedPackets: 0,
      keepRatio: 0.5,
      sentRows: 50,
      heldRows: 7,
      cpuHostPct: 63,
      escalations: 2,
    };
    await t.db.unsafe.agent.update({
      where: { id: agentId },
      data: { protectiveMode: true, stats: { cpuPct: 120, memBytes: 1, packetsPerS: 5, overload } },
    });
    const api = await as(ids.viewerA);
    expect((await api.agents.get({ orgSlug: ids.slugA, agentId })).overload).toEqual({
      step: "protective",
      reason: "CPU 63% of host above maxCpuPct 50",
      shedPackets: 300,
      heldRows: 7,
    });
    const plain = await api.agents.get({ orgSlug: ids.slugA, agentId: ids.agentsA[2] as string });
    expect(plain.overload).toBeNull();
  });
});

describe("silent and archived agents", () => {
  it("hides long-silent agents by default, shows them on request, archived ones under their filter", async () => {
    const [, , , silent, archived] = ids.agentsA as [string, string, string, string, string];
    await t.db.unsafe.agent.update({
      where: { id: silent },
      data: { state: "offline", lastSeenAt: new Date(Date.now() - 2 * DAY_MS) },
    });
    await t.db.unsafe.agent.update({
      where: { id: archived },
      data: { state: "offline", lastSeenAt: new Date(Date.now() - 40 * DAY_MS), archivedAt: new Date() },
    });
    const api = await as(ids.viewerA);
    const listed = async (view?: "active" | "all" | "archived") =>
      (await api.agents.list({ orgSlug: ids.slugA, ...(view ? { view } : {}) })).map((a) => a.id).sort();
    const others = ids.agentsA.filter((x) => x !== silent && x !== archived).sort();
    expect(await listed()).toEqual(others);
    expect(await listed("all")).toEqual([...others, silent].sort());
    expect(await listed("archived")).toEqual([archived]);
    const row = (await api.agents.list({ orgSlug: ids.slugA, view: "archived" }))[0];
    expect(row?.archivedAt).not.toBeNull();
    // The overview's totals leave the archived agent out and count it apart.
    const overview = await api.org.overview({ orgSlug: ids.slugA });
    expect(overview.agents).toEqual({ total: 4, online: 3, archived: 1 });
  });

  it("editors archive offline agents and restore archived ones, audited; a live agent is refused", async () => {
    const owner = await as(ids.ownerA);
    const live = ids.agentsA[0] as string;
    const silent = ids.agentsA[3] as string;
    expect(
      await codeOf(owner.agents.setArchived({ orgSlug: ids.slugA, agentId: live, archived: true })),
    ).toBe("PRECONDITION_FAILED");
    const r = await owner.agents.setArchived({ orgSlug: ids.slugA, agentId: silent, archived: true });
    expect(r.archivedAt).not.toBeNull();
    await owner.agents.setArchived({ orgSlug: ids.slugA, agentId: silent, archived: false });
    const actions = (
      await t.db.unsafe.auditLog.findMany({ where: { targetId: silent }, orderBy: { createdAt: "asc" } })
    ).map((a) => a.action);
    expect(actions).toEqual(["agents.archive", "agents.restore"]);
  });
});

describe("data nodes", () => {
  it("shows health, the balancer's load and only the caller's own agents", async () => {
    const a = await (await as(ids.viewerA)).dataNodes.list({ orgSlug: ids.slugA });
    const n1 = a.nodes.find((n) => n.id === ids.node1);
    expect(n1).toMatchObject({ health: "up", state: "active", rowsPerS: 300, capacity: 100 });
    // 300 of 400 rows/s on half the capacity: 1.5 times its fair share.
    expect(n1?.loadRatio).toBeCloseTo(1.5, 6);
    expect(n1?.agents.map((x) => x.id).sort()).toEqual(ids.agentsA.slice(0, 3).sort());
    const listedA = [...a.nodes.flatMap((n) => n.agents), ...a.unassigned].map((x) => x.id);
    expect(listedA).not.toContain(ids.agentB);

    const b = await (await as(ids.ownerB)).dataNodes.list({ orgSlug: ids.slugB });
    const listedB = [...b.nodes.flatMap((n) => n.agents), ...b.unassigned].map((x) => x.id);
    expect(listedB).toEqual([ids.agentB]);
  });

  it("a node without heartbeats is late, then down; its agents count as unassigned", async () => {
    await t.db.unsafe.dataNode.update({
      where: { id: ids.node1 },
      data: { lastHealthAt: new Date(Date.now() - 120_000) },
    });
    const api = await as(ids.viewerA);
    expect(
      (await api.dataNodes.list({ orgSlug: ids.slugA })).nodes.find((n) => n.id === ids.node1)?.health,
    ).toBe("late");
    await t.db.unsafe.dataNode.update({ where: { id: ids.node1 }, data: { state: "down" } });
    const down = await api.dataNodes.list({ orgSlug: ids.slugA });
    expect(down.nodes.find((n) => n.id === ids.node1)).toMatchObject({ health: "down", loadRatio: null });
    expect(down.unassigned.map((x) => x.id)).toEqual(expect.arrayContaining(ids.agentsA.slice(0, 3)));
  });
});

describe("tenant isolation", () => {
  it("org B reads none of org A's rollout, health or agents; A's slug is NOT_FOUND for B", async () => {
    const b = await as(ids.ownerB);
    const agentA = ids.agentsA[0] as string;
    const range = { from: 0, to: 3_600_000_000 };
    // B's own org slug with A's ids: the records are not in B's org.
    expect(await codeOf(b.groups.rollout({ orgSlug: ids.slugB, groupId: ids.groupA }))).toBe("NOT_FOUND");
    expect(await codeOf(b.agents.health({ orgSlug: ids.slugB, agentId: agentA, ...range }))).toBe(
      "NOT_FOUND",
    );
    expect(await codeOf(b.agents.setArchived({ orgSlug: ids.slugB, agentId: agentA, archived: false }))).toBe(
      "NOT_FOUND",
    );
    // A's slug: not a member.
    expect(await codeOf(b.groups.rollout({ orgSlug: ids.slugA, groupId: ids.groupA }))).toBe("NOT_FOUND");
    expect(await codeOf(b.dataNodes.list({ orgSlug: ids.slugA }))).toBe("NOT_FOUND");
    expect(await codeOf(b.agents.health({ orgSlug: ids.slugA, agentId: agentA, ...range }))).toBe(
      "NOT_FOUND",
    );
  });
});
