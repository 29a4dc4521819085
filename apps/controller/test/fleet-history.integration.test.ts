import { seedAgent, seedAgentGroup, seedOrg } from "@flowplane/db/seed";
import { createTestDatabase, type TestDatabase } from "@flowplane/db/testing";
import { agentHealthSeries } from "@flowplane/query";
import { createTestClickhouse, type TestClickhouse } from "@flowplane/query/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { unsafeArchiveSilentAgents } from "../src/jobs/archive-agents.ts";
import { unsafeRecordAgentHealth } from "../src/jobs/record-agent-health.ts";

const DAY_S = 24 * 3600;
const STATS = {
  cpuPct: 12.5,
  memBytes: 64_000_000,
  packetsPerS: 900,
  bytesPerS: 450_000,
  drops: 3,
  flows: 40,
  spoolBytes: 0,
  version: "0.1.0",
};

describe("fleet history jobs", () => {
  let tdb: TestDatabase;
  let ch: TestClickhouse;
  beforeAll(async () => {
    tdb = await createTestDatabase("ctl_fleet_history");
    ch = await createTestClickhouse("ctl_fleet_history");
  });
  afterAll(async () => {
    await tdb?.drop();
    await ch?.drop();
  });

  async function agent(orgId: string, groupId: string, data: Record<string, unknown>) {
    const a = await seedAgent(tdb.db, orgId, groupId);
    await tdb.db.unsafe.agent.update({ where: { id: a.id }, data });
    return a.id;
  }

  it("archives agents silent past the limit with an audit row, never deletes, restores on return", async () => {
    const orgA = await seedOrg(tdb.db);
    const orgB = await seedOrg(tdb.db);
    const gA = await seedAgentGroup(tdb.db, orgA.id);
    const gB = await seedAgentGroup(tdb.db, orgB.id);
    const ago = (days: number) => new Date(Date.now() - days * DAY_S * 1000);
    const oldA = await agent(orgA.id, gA.id, { state: "offline", lastSeenAt: ago(40) });
    const recentA = await agent(orgA.id, gA.id, { state: "offline", lastSeenAt: ago(2) });
    const onlineA = await agent(orgA.id, gA.id, { state: "online", lastSeenAt: new Date() });
    const neverB = await agent(orgB.id, gB.id, { state: "pending", lastSeenAt: null, enrolledAt: ago(31) });

    const events = await unsafeArchiveSilentAgents(tdb.db, { afterS: 30 * DAY_S });
    expect(events.map((e) => [e.agentId, e.action]).sort()).toEqual(
      [
        [oldA, "archived"],
        [neverB, "archived"],
      ].sort(),
    );
    const rows = await tdb.db.unsafe.agent.findMany({ select: { id: true, archivedAt: true } });
    const archived = new Map(rows.map((r) => [r.id, r.archivedAt !== null]));
    expect(archived.get(oldA)).toBe(true);
    expect(archived.get(neverB)).toBe(true);
    expect(archived.get(recentA)).toBe(false);
    expect(archived.get(onlineA)).toBe(false);

    // Each archive is audited in the agent's own org, by the system.
    const audits = await tdb.db.unsafe.auditLog.findMany({ where: { action: "agents.archive" } });
    expect(audits.map((a) => [a.orgId, a.targetId, a.actorType]).sort()).toEqual(
      [
        [orgA.id, oldA, "system"],
        [orgB.id, neverB, "system"],
      ].sort(),
    );
    // A second run changes nothing.
    expect(await unsafeArchiveSilentAgents(tdb.db, { afterS: 30 * DAY_S })).toEqual([]);

    // The agent syncs again (sync sets last_seen_at): the next run restores it, audited.
    await tdb.db.unsafe.agent.update({
      where: { id: oldA },
      data: { state: "online", lastSeenAt: new Date(Date.now() + 1000) },
    });
    const back = await unsafeArchiveSilentAgents(tdb.db, { afterS: 30 * DAY_S });
    expect(back.map((e) => [e.agentId, e.action])).toEqual([[oldA, "restored"]]);
    expect((await tdb.db.unsafe.agent.findUniqueOrThrow({ where: { id: oldA } })).archivedAt).toBeNull();
    expect(await tdb.db.unsafe.auditLog.count({ where: { action: "agents.restore", targetId: oldA } })).toBe(
      1,
    );
  });

  it("copies recent heartbeats into agent_health, each in its own org", async () => {
    const orgA = await seedOrg(tdb.db);
    const orgB = await seedOrg(tdb.db);
    const gA = await seedAgentGroup(tdb.db, orgA.id);
    const gB = await seedAgentGroup(tdb.db, orgB.id);
    const seen = new Date(Math.floor(Date.now() / 1000) * 1000 - 2000);
    const a = await agent(orgA.id, gA.id, { lastSeenAt: seen, stats: STATS });
    const b = await agent(orgB.id, gB.id, {
      lastSeenAt: seen,
      stats: { ...STATS, cpuPct: 80 },
      state: "degraded",
      protectiveMode: true,
    });
    // Silent for long: not copied again. No stats yet: skipped.
    await agent(orgA.id, gA.id, { lastSeenAt: new Date(Date.now() - 3600_000), stats: STATS });
    await agent(orgA.id, gA.id, { lastSeenAt: seen, stats: {} });

    expect(await unsafeRecordAgentHealth(tdb.db, ch.client, { windowS: 20 })).toBe(2);
    const range = { from: (seen.getTime() - 60_000) * 1000, to: (seen.getTime() + 60_000) * 1000 };
    const histA = await agentHealthSeries(ch.client, { orgId: orgA.id, agentId: a, ...range });
    expect(histA.points).toHaveLength(1);
    expect(histA.points[0]).toMatchObject({ cpu_pct: 12.5, packets_per_s: 900, drops: 3, state: "online" });
    const histB = await agentHealthSeries(ch.client, { orgId: orgB.id, agentId: b, ...range });
    expect(histB.points[0]).toMatchObject({ cpu_pct: 80, state: "protective" });
    // Org B's agent is invisible through org A.
    expect((await agentHealthSeries(ch.client, { orgId: orgA.id, agentId: b, ...range })).points).toEqual([]);
  });
});
