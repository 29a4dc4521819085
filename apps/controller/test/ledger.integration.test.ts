import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { BatchLedger } from "../src/ingest/batch-ledger.ts";
import { redisUrl } from "./harness.ts";

describe("batch ledger (Redis)", () => {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  afterAll(async () => {
    await redis.quit();
  });

  it("a claim left by a dead writer frees itself within its TTL; a live writer keeps it; done lasts", async () => {
    const ledger = new BatchLedger(redis, { doneTtlS: 3600, pendingTtlS: 2 });
    const org = randomUUID();
    const dead = randomUUID();
    expect(await ledger.claim(org, dead)).toEqual({ kind: "claimed" });
    expect(await ledger.claim(org, dead)).toEqual({ kind: "in-progress" });
    await new Promise((r) => setTimeout(r, 2300));
    expect(await ledger.claim(org, dead)).toEqual({ kind: "claimed" }); // the writer died: free again

    const live = randomUUID();
    await ledger.claim(org, live);
    const stop = ledger.keepAlive(org, live);
    await new Promise((r) => setTimeout(r, 3000));
    expect(await ledger.claim(org, live)).toEqual({ kind: "in-progress" });
    stop();
    await ledger.done(org, live, { accepted: 3, rejected: [] });
    expect(await ledger.claim(org, live)).toEqual({ kind: "done", outcome: { accepted: 3, rejected: [] } });
    expect(await redis.ttl(`fp:ingest:batch:${org}:${live}`)).toBeGreaterThan(3000);
    // Claims are per org: another org's identical batch id is its own.
    expect(await ledger.claim(randomUUID(), live)).toEqual({ kind: "claimed" });
  });
});
