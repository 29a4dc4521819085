import { randomBytes } from "node:crypto";
import { createLogger } from "@flowplane/core/log";
import { seedAgent, seedOrg } from "@flowplane/db/seed";
import { createTestDatabase, type TestDatabase } from "@flowplane/db/testing";
import { createTestClickhouse } from "@flowplane/query/testing";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCloudAccount, listCloudAccounts } from "../../src/clouds/accounts.ts";
import { startAutoTagging } from "../../src/clouds/runtime.ts";
import { optionalSecretsKeyFromEnv, SecretsKey } from "../../src/clouds/secrets.ts";

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
});
