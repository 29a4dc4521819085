import { randomBytes } from "node:crypto";
import { createLogger } from "@flowplane/core/log";
import { seedAgent, seedAgentGroup, seedOrg } from "@flowplane/db/seed";
import { createTestDatabase, type TestDatabase } from "@flowplane/db/testing";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { unsafeMarkSilentAgentsOffline } from "../src/jobs/mark-silent-agents.ts";
import { startFleetJobs } from "../src/jobs/scheduler.ts";
import { redisUrl } from "./harness.ts";

describe("fleet jobs", () => {
  let tdb: TestDatabase;
  let redis: Redis;
  beforeAll(async () => {
    tdb = await createTestDatabase("ctl_jobs");
    redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  });
  afterAll(async () => {
    await redis?.quit();
    await tdb?.drop();
  });

  async function agentSeenAgo(orgId: string, groupId: string, seconds: number, disabled = false) {
    const a = await seedAgent(tdb.db, orgId, groupId);
    await tdb.db.unsafe.agent.update({
      where: { id: a.id },
      data: {
        lastSeenAt: new Date(Date.now() - seconds * 1000),
        ...(disabled ? { disabledAt: new Date(), state: "disabled" } : {}),
      },
    });
    return a.id;
  }

  it("marks agents silent for 3 of their group's intervals offline, in every org, nothing else", async () => {
    const orgA = await seedOrg(tdb.db);
    const orgB = await seedOrg(tdb.db);
    const fast = await seedAgentGroup(tdb.db, orgA.id, { syncIntervalS: 10 });
    const slow = await seedAgentGroup(tdb.db, orgB.id, { syncIntervalS: 60 });
    const silentA = await agentSeenAgo(orgA.id, fast.id, 45);
    const freshA = await agentSeenAgo(orgA.id, fast.id, 5);
    const slowB = await agentSeenAgo(orgB.id, slow.id, 45);
    const silentB = await agentSeenAgo(orgB.id, slow.id, 200);
    const disabledB = await agentSeenAgo(orgB.id, slow.id, 999, true);

    const marked = await unsafeMarkSilentAgentsOffline(tdb.db);
    expect(marked.map((m) => m.agentId).sort()).toEqual([silentA, silentB].sort());
    const states = Object.fromEntries(
      (await tdb.db.unsafe.agent.findMany({ select: { id: true, state: true } })).map((a) => [a.id, a.state]),
    );
    expect(states).toMatchObject({
      [silentA]: "offline",
      [freshA]: "online",
      [slowB]: "online",
      [silentB]: "offline",
      [disabledB]: "disabled",
    });
  });

  it("two controller processes make one schedule, and a tick runs the job once", async () => {
    const prefix = `fp:test:${randomBytes(4).toString("hex")}`;
    const log = createLogger("jobs-test");
    const p1 = await startFleetJobs({ db: tdb.db, connection: redis, log, everyMs: 300, prefix });
    const p2 = await startFleetJobs({ db: tdb.db, connection: redis, log, everyMs: 300, prefix });
    try {
      // One schedule per job kind (offline marking, rebalancing, rollouts, archiving; health history
      // only with ClickHouse), however many processes start.
      expect(await p1.queue.getJobSchedulersCount()).toBe(4);
      const org = await seedOrg(tdb.db);
      const group = await seedAgentGroup(tdb.db, org.id, { syncIntervalS: 1 });
      const silent = await agentSeenAgo(org.id, group.id, 30);
      const ran: string[] = [];
      p1.worker.on("completed", (job) => ran.push(`p1:${job.id}`));
      p2.worker.on("completed", (job) => ran.push(`p2:${job.id}`));
      const isOffline = async () =>
        (await tdb.db.unsafe.agent.findUniqueOrThrow({ where: { id: silent } })).state === "offline";
      const deadline = Date.now() + 20_000;
      while ((ran.length < 4 || !(await isOffline())) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
      }
      const ids = ran.map((r) => r.split(":").slice(1).join(":"));
      expect(new Set(ids).size).toBe(ids.length); // no tick's job ran in both processes
      expect((await tdb.db.unsafe.agent.findUniqueOrThrow({ where: { id: silent } })).state).toBe("offline");
    } finally {
      await p1.queue.obliterate({ force: true }).catch(() => {});
      await Promise.all([p1.close(), p2.close()]);
    }
  });
});
