import { randomBytes } from "node:crypto";
import { createLogger } from "@flowplane/core/log";
import {
  createCloudAccount,
  listCloudAccounts,
  optionalSecretsKeyFromEnv,
  removeCloudAccount,
  SecretsKey,
} from "@flowplane/db/clouds";
import { seedAgent, seedOrg } from "@flowplane/db/seed";
import { createTestDatabase, type TestDatabase } from "@flowplane/db/testing";
import { createTestClickhouse } from "@flowplane/query/testing";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAutoTagging } from "../../src/clouds/runtime.ts";
import { versionKey } from "../../src/tagging/tagger.ts";

const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

async function until<T>(f: () => Promise<T | undefined | null | false>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("AutoTagging runtime (what createAgentRuntime wires)", () => {
  let tdb: TestDatabase;
  let redis: Redis;
  let ch: Awaited<ReturnType<typeof createTestClickhouse>>;
  beforeAll(async () => {
    tdb = await createTestDatabase("ctl_autotag_rt");
    ch = await createTestClickhouse("ctl_autotag_rt");
    redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  });
  afterAll(async () => {
    await redis?.quit();
    await ch?.drop();
    await tdb?.drop();
  });

  it("schedules every account, and a sync's push makes taggers reload at once", async () => {
    expect(optionalSecretsKeyFromEnv({})).toBeUndefined();
    const key = SecretsKey.fromBase64(randomBytes(32).toString("base64"));
    const org = await seedOrg(tdb.db);
    const account = await createCloudAccount(tdb.db, key, org.id, { kind: "agents", name: "agents" });
    const rt = await startAutoTagging({
      db: tdb.db,
      redis,
      clickhouse: ch.client,
      log: createLogger("autotag-test"),
      secretsKey: key,
      syncEveryMs: 60_000,
      checkEveryMs: 600_000, // only a push can make it reload within this test
      prefix: `fp:test:autotag:${randomBytes(4).toString("hex")}`,
    });
    try {
      const schedulers = (await rt.jobs?.queue.getJobSchedulers()) ?? [];
      expect(schedulers.map((s) => s.key)).toContain(`cloud-sync:${org.id}:${account.id}`);
      // the scheduler's first run syncs at once
      await until(async () => (await listCloudAccounts(tdb.db, org.id))[0]?.lastSyncAt);
      expect(typeof rt.wrap(async () => ({ inserted: 0, rejected: [] })).tagRows).toBe("function");

      await rt.tagger.dictionaryFor(org.id);
      const loads = rt.tagger.loads;
      await seedAgent(tdb.db, org.id);
      await rt.jobs?.syncNow(org.id, account.id);
      // the push triggers the reload (the periodic check is 10 minutes away)
      await until(async () => {
        await rt.tagger.dictionaryFor(org.id);
        return rt.tagger.loads > loads;
      }, 5_000);
    } finally {
      await rt.close();
      await rt.jobs?.queue.obliterate({ force: true }).catch(() => {});
    }
  });

  it("picks up an account added after start and drops a removed one, without a restart", async () => {
    const key = SecretsKey.fromBase64(randomBytes(32).toString("base64"));
    const org = await seedOrg(tdb.db);
    await seedAgent(tdb.db, org.id);
    const rt = await startAutoTagging({
      db: tdb.db,
      redis,
      clickhouse: ch.client,
      log: createLogger("autotag-test"),
      secretsKey: key,
      syncEveryMs: 60_000,
      scanEveryMs: 100,
      checkEveryMs: 600_000,
      prefix: `fp:test:autotag:${randomBytes(4).toString("hex")}`,
    });
    try {
      // what the console's clouds.create does: only Postgres
      const account = await createCloudAccount(tdb.db, key, org.id, { kind: "agents", name: "hosts" });
      const id = `cloud-sync:${org.id}:${account.id}`;
      await until(async () => ((await rt.jobs?.queue.getJobSchedulers()) ?? []).some((s) => s.key === id));
      await until(async () => (await listCloudAccounts(tdb.db, org.id))[0]?.lastSyncAt);
      const live = await tdb.db.forOrg(org.id).cloudResource.count({ where: { deletedAt: null } });
      expect(live).toBeGreaterThan(0);
      const pushed = Number(await redis.get(versionKey(org.id)));
      await rt.tagger.dictionaryFor(org.id);
      const loads = rt.tagger.loads;

      // clouds.remove: resources marked deleted with history, version bumped in Postgres only
      const removed = await removeCloudAccount(tdb.db, org.id, account.id);
      expect(removed.deletedResources).toBe(live);
      expect(removed.version).toBeGreaterThan(pushed);
      expect(await listCloudAccounts(tdb.db, org.id)).toEqual([]);
      expect(await tdb.db.forOrg(org.id).cloudResource.count({ where: { deletedAt: null } })).toBe(0);
      const deletions = await tdb.db
        .forOrg(org.id)
        .cloudResourceChange.count({ where: { action: "deleted" } });
      expect(deletions).toBe(live);

      // the scan unschedules it and pushes the new version; the tagger reloads without the resources
      await until(async () => !((await rt.jobs?.queue.getJobSchedulers()) ?? []).some((s) => s.key === id));
      await until(async () => Number(await redis.get(versionKey(org.id))) === removed.version);
      await until(async () => {
        await rt.tagger.dictionaryFor(org.id);
        return rt.tagger.loads > loads;
      }, 5_000);
      // a sync job queued before the removal does nothing
      expect((await rt.jobs?.syncNow(org.id, account.id))?.id).toBeTruthy();
    } finally {
      await rt.close();
      await rt.jobs?.queue.obliterate({ force: true }).catch(() => {});
    }
  });
});
