import type { Logger } from "@flowplane/core/log";
import type { Db } from "@flowplane/db/client";
import type { ClickHouseClient } from "@flowplane/query/client";
import type { Redis } from "ioredis";
import type { TRowWriter, TTaggingRowWriter } from "../ingest/ingest.ts";
import { ResourceTagger, withTagging } from "../tagging/tagger.ts";
import { startCloudJobs, type TCloudJobs } from "./jobs.ts";
import type { SecretsKey } from "./secrets.ts";

export type TAutoTagging = {
  tagger: ResourceTagger;
  /** The ingest writer with tagging in front (see ingest.ts for where its `tagRows` is called). */
  wrap(write: TRowWriter): TTaggingRowWriter;
  /** Present when this process runs the sync jobs (a secrets key was given and `jobs` not false). */
  jobs?: TCloudJobs;
  close(): Promise<void>;
};

/** Every account of every org gets its sync schedule (platform-wide, hence `unsafe`). */
export async function unsafeScheduleAllCloudAccounts(
  db: Db,
  jobs: TCloudJobs,
  everyMs?: number,
): Promise<number> {
  const accounts = await db.unsafe.cloudAccount.findMany({ select: { id: true, orgId: true } });
  for (const a of accounts) await jobs.schedule(a.orgId, a.id, everyMs);
  return accounts.length;
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
    const n = await unsafeScheduleAllCloudAccounts(opts.db, jobs, opts.syncEveryMs);
    opts.log.info({ accounts: n }, "cloud sync scheduled");
  }
  return {
    tagger,
    wrap: (write) => withTagging(tagger, write, opts.log),
    ...(jobs ? { jobs } : {}),
    close: async () => {
      await stopListening();
      await subscriber.quit().catch(() => {});
      await jobs?.close();
    },
  };
}
