import type { Logger } from "@flowplane/core/log";
import { getDb } from "@flowplane/db/client";
import type { SecretsKey } from "@flowplane/db/clouds";
import { recordNpbCounters } from "@flowplane/query";
import { type ClickHouseClient, tsvNativeStatus } from "@flowplane/query/client";
import { Redis } from "ioredis";
import { startAutoTagging } from "../clouds/runtime.ts";
import { BatchLedger } from "../ingest/batch-ledger.ts";
import { DEFAULT_COALESCER_OPTIONS, IngestCoalescer } from "../ingest/coalescer.ts";
import { startFleetJobs, type TFleetJobs } from "../jobs/scheduler.ts";
import { DEFAULT_AGENT_API_OPTIONS, type TAgentApiDeps, type TAgentApiOptions } from "./api.ts";

/**
 * Everything the agent API and the fleet jobs need, from the controller's configuration: one call
 * for main.ts. Its own Redis connection (the /healthz probe's is lazy and has no offline queue).
 */
export async function createAgentRuntime(opts: {
  databaseUrl: string;
  redisUrl: string;
  clickhouse: ClickHouseClient;
  log: Logger;
  options?: Partial<TAgentApiOptions>;
  /** Run the periodic fleet jobs in this process (every controller may: they run once anyway). */
  jobs?: boolean;
  /** Opens cloud-account credentials; without it rows are still tagged, but cloud syncs are off. */
  secretsKey?: SecretsKey;
  /** Agents silent this long are archived by the fleet jobs (default 30 days). */
  archiveAfterS?: number;
}): Promise<{ agentApi: TAgentApiDeps; coalescer: IngestCoalescer; close(): Promise<void> }> {
  const redis = new Redis(opts.redisUrl, { maxRetriesPerRequest: 2 });
  redis.on("error", (err) => opts.log.warn({ err: err.message }, "agent api redis error"));
  const db = getDb(opts.databaseUrl);
  let jobs: TFleetJobs | undefined;
  if (opts.jobs !== false)
    jobs = await startFleetJobs({
      db,
      connection: redis,
      log: opts.log,
      clickhouse: opts.clickhouse,
      ...(opts.archiveAfterS ? { archive: { afterS: opts.archiveAfterS } } : {}),
    });
  // AutoTagging: rows are tagged from an in-memory per-org dictionary before they are written.
  const autoTagging = await startAutoTagging({
    db,
    redis,
    clickhouse: opts.clickhouse,
    log: opts.log,
    ...(opts.secretsKey ? { secretsKey: opts.secretsKey } : {}),
    jobs: opts.jobs !== false,
  });
  // The ingest's C line writer is compiled on first use (once per host and Node version, then
  // loaded from its cache): here, as the process starts, not inside an agent's first request. And
  // said, since a missing compiler costs CPU per row (the JS writer takes over), not correctness.
  opts.log.info({ ingestTsvWriter: tsvNativeStatus() }, "ingest line writer");
  // Agents' batches coalesced into few big inserts, journaled so a dead writer's insert is redone.
  const coalescer = new IngestCoalescer(
    opts.clickhouse,
    new BatchLedger(redis, {
      doneTtlS: opts.options?.batchIdTtlS ?? DEFAULT_AGENT_API_OPTIONS.batchIdTtlS,
      pendingTtlS: 15,
    }),
    opts.log,
    {
      ...DEFAULT_COALESCER_OPTIONS,
      ownsOrg: async (id) => (await db.unsafe.organization.count({ where: { id } })) > 0,
    },
  );
  return {
    coalescer,
    agentApi: {
      db,
      redis,
      writeRows: autoTagging.wrap(coalescer.write),
      writeNpbCounters: (orgId, agentId, at, counters) =>
        recordNpbCounters(opts.clickhouse, orgId, agentId, at, counters),
      ...(opts.options ? { options: opts.options } : {}),
    },
    close: async () => {
      await coalescer.close();
      await jobs?.close();
      await autoTagging.close();
      await redis.quit().catch(() => {});
      await db.disconnect();
    },
  };
}
