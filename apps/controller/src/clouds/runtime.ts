import type { Logger } from "@flowplane/core/log";
import type { Db } from "@flowplane/db/client";
import type { SecretsKey } from "@flowplane/db/clouds";
import type { ClickHouseClient } from "@flowplane/query/client";
import type { Redis } from "ioredis";
import type { TRowWriter, TTaggingRowWriter } from "../ingest/ingest.ts";
import { ResourceTagger, versionKey, withTagging } from "../tagging/tagger.ts";
import { startCloudJobs, type TCloudJobs } from "./jobs.ts";
import { publishResourceTags } from "./publish.ts";

export type TAutoTagging = {
  tagger: ResourceTagger;
  /** The ingest writer with tagging in front (see ingest.ts for where its `tagRows` is called). */
  wrap(write: TRowWriter): TTaggingRowWriter;
  /** Present when this process runs the sync jobs (a secrets key was given and `jobs` not false). */
  jobs?: TCloudJobs;
  close(): Promise<void>;
};

/**
 * One pass over every org's accounts (platform-wide, hence `unsafe`), so accounts the console
 * adds or removes take effect without a restart and without the console knowing BullMQ or Redis:
 * a live account not yet scheduled by this process is scheduled (`upsertJobScheduler` under a
 * fixed id, so several controllers make one schedule); a deleted one is unscheduled once; an org
 * whose dictionary version in Postgres is ahead of Redis (the console's removal bumps it) gets
 * its names and levels published and the version pushed, so taggers drop the removed resources.
 */
export async function unsafeScanCloudAccounts(opts: {
  db: Db;
  jobs: TCloudJobs;
  redis?: Redis;
  clickhouse?: ClickHouseClient;
  /** Account ids this process has scheduled or unscheduled: kept across passes. */
  seen: Set<string>;
  everyMs?: number;
}): Promise<{ scheduled: number; unscheduled: number; published: number }> {
  const accounts = await opts.db.unsafe.cloudAccount.findMany({
    select: { id: true, orgId: true, deletedAt: true },
  });
  let scheduled = 0;
  let unscheduled = 0;
  for (const a of accounts) {
    if (opts.seen.has(`${a.id}:${a.deletedAt ? "gone" : "live"}`)) continue;
    if (a.deletedAt) {
      await opts.jobs.unschedule(a.orgId, a.id);
      unscheduled++;
    } else {
      await opts.jobs.schedule(a.orgId, a.id, opts.everyMs);
      scheduled++;
    }
    opts.seen.add(`${a.id}:${a.deletedAt ? "gone" : "live"}`);
  }
  let published = 0;
  if (opts.redis) {
    const inventories = await opts.db.unsafe.cloudInventory.findMany({
      select: { orgId: true, version: true },
    });
    if (inventories.length > 0) {
      const pushed = await opts.redis.mget(inventories.map((i) => versionKey(i.orgId)));
      for (const [i, inv] of inventories.entries()) {
        const v = pushed[i];
        // No key: taggers read Postgres already. Behind: a change (a removal) nobody pushed yet.
        if (v === null || v === undefined || Number(v) >= inv.version) continue;
        await publishResourceTags({
          db: opts.db,
          orgId: inv.orgId,
          version: inv.version,
          redis: opts.redis,
          ...(opts.clickhouse ? { clickhouse: opts.clickhouse } : {}),
        });
        published++;
      }
    }
  }
  return { scheduled, unscheduled, published };
}

/**
 * AutoTagging for one ingest process (controller or data node): the tagger, its subscription to
 * dictionary pushes, and (with a secrets key) the cloud sync jobs with every account scheduled.
 * Wiring (`createAgentRuntime`): `writeRows: autoTagging.wrap((t, o, r) => recordRows(ch, t, o, r))`.
 */
export async function startAutoTagging(opts: {
  db: Db;
  redis: Redis;
  clickhouse: ClickHouseClient;
  log: Logger;
  secretsKey?: SecretsKey;
  jobs?: boolean;
  syncEveryMs?: number;
  /** How often accounts added or removed in the console are picked up (default 10 s). */
  scanEveryMs?: number;
  /** How often each org's version is checked besides pushes (default 1 s). */
  checkEveryMs?: number;
  prefix?: string;
}): Promise<TAutoTagging> {
  const tagger = new ResourceTagger({
    db: opts.db,
    redis: opts.redis,
    log: opts.log,
    ...(opts.checkEveryMs !== undefined ? { checkEveryMs: opts.checkEveryMs } : {}),
  });
  const subscriber = opts.redis.duplicate();
  subscriber.on("error", (err) => opts.log.warn({ err: err.message }, "tag dictionary subscriber error"));
  const stopListening = await tagger.listen(subscriber);
  let jobs: TCloudJobs | undefined;
  let scanTimer: NodeJS.Timeout | undefined;
  if (opts.secretsKey && opts.jobs !== false) {
    jobs = await startCloudJobs({
      db: opts.db,
      key: opts.secretsKey,
      clickhouse: opts.clickhouse,
      redis: opts.redis,
      connection: opts.redis,
      log: opts.log,
      ...(opts.prefix ? { prefix: opts.prefix } : {}),
    });
    const cloudJobs = jobs;
    const seen = new Set<string>();
    const scan = () =>
      unsafeScanCloudAccounts({
        db: opts.db,
        jobs: cloudJobs,
        redis: opts.redis,
        clickhouse: opts.clickhouse,
        seen,
        ...(opts.syncEveryMs !== undefined ? { everyMs: opts.syncEveryMs } : {}),
      });
    const first = await scan();
    opts.log.info({ accounts: first.scheduled }, "cloud sync scheduled");
    let scanning = false;
    scanTimer = setInterval(() => {
      if (scanning) return;
      scanning = true;
      scan()
        .then((r) => {
          if (r.scheduled + r.unscheduled + r.published > 0) opts.log.info(r, "cloud accounts changed");
        })
        .catch((err: Error) => opts.log.warn({ error: err.message }, "cloud account scan failed"))
        .finally(() => {
          scanning = false;
        });
    }, opts.scanEveryMs ?? 10_000);
    scanTimer.unref();
  }
  return {
    tagger,
    wrap: (write) => withTagging(tagger, write, opts.log),
    ...(jobs ? { jobs } : {}),
    close: async () => {
      clearInterval(scanTimer);
      await stopListening();
      await subscriber.quit().catch(() => {});
      await jobs?.close();
    },
  };
}
