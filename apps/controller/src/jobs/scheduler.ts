import type { Logger } from "@flowplane/core/log";
import { DATA_NODE_MISS_AFTER_S } from "@flowplane/db";
import type { Db } from "@flowplane/db/client";
import type { ClickHouseClient } from "@flowplane/query/client";
import { type Queue, Worker } from "bullmq";
import type { Redis } from "ioredis";
import { unsafeAdvanceRollouts } from "./advance-rollouts.ts";
import { DEFAULT_ARCHIVE_AFTER_S, unsafeArchiveSilentAgents } from "./archive-agents.ts";
import { openBullQueue } from "./bull-queue.ts";
import { unsafeMarkSilentAgentsOffline } from "./mark-silent-agents.ts";
import { unsafeRebalanceDataNodes } from "./rebalance.ts";
import { unsafeRecordAgentHealth } from "./record-agent-health.ts";

export const FLEET_QUEUE = "fleet";
const MARK_OFFLINE = "mark-silent-agents-offline";
const REBALANCE = "rebalance-data-nodes";
const ROLLOUTS = "advance-rollouts";
const ARCHIVE = "archive-silent-agents";
const HEALTH = "record-agent-health";

export type TFleetJobs = { queue: Queue; worker: Worker; close(): Promise<void> };

/**
 * Data node failover: a node silent for `nodeMissAfterS` (3 of its 2 s heartbeats) is marked down
 * by the rebalance job, and its agents move at their next sync: at most about 6 + 2 s + one sync
 * interval, under the 3 intervals (30 s at the default 10 s) the product aims for. The job is a few
 * indexed Postgres reads when nothing moves.
 */
export const DEFAULT_REBALANCE = { everyMs: 2_000, nodeMissAfterS: DATA_NODE_MISS_AFTER_S } as const;

/**
 * The controller's periodic fleet jobs on BullMQ. Every controller process calls this: the job
 * scheduler is upserted under a fixed id, so N processes make one schedule, and each tick's job is
 * taken by exactly one worker: the jobs run once, not once per process.
 */
export async function startFleetJobs(opts: {
  db: Db;
  /** BullMQ needs `maxRetriesPerRequest: null` on its connections; it duplicates this one. */
  connection: Redis;
  log: Logger;
  everyMs?: number;
  rebalance?: { everyMs?: number; nodeMissAfterS?: number };
  /** Agents silent this long are archived (never deleted); checked every 5 min, which also restores returning ones. */
  archive?: { afterS?: number; everyMs?: number };
  /** Where agent health history goes; without it no history is recorded. */
  clickhouse?: ClickHouseClient;
  /** Redis key prefix; tests use their own. */
  prefix?: string;
}): Promise<TFleetJobs> {
  const { queue, workerConnection, prefix, close } = openBullQueue(FLEET_QUEUE, opts.connection, opts.prefix);
  await queue.upsertJobScheduler(
    MARK_OFFLINE,
    { every: opts.everyMs ?? 10_000 },
    { name: MARK_OFFLINE, opts: { removeOnComplete: 100, removeOnFail: 100 } },
  );
  await queue.upsertJobScheduler(
    REBALANCE,
    { every: opts.rebalance?.everyMs ?? DEFAULT_REBALANCE.everyMs },
    { name: REBALANCE, opts: { removeOnComplete: 100, removeOnFail: 100 } },
  );
  await queue.upsertJobScheduler(
    ROLLOUTS,
    { every: opts.everyMs ?? 10_000 },
    { name: ROLLOUTS, opts: { removeOnComplete: 100, removeOnFail: 100 } },
  );
  await queue.upsertJobScheduler(
    ARCHIVE,
    { every: opts.archive?.everyMs ?? 300_000 },
    { name: ARCHIVE, opts: { removeOnComplete: 100, removeOnFail: 100 } },
  );
  const healthEveryMs = opts.everyMs ?? 10_000;
  if (opts.clickhouse) {
    await queue.upsertJobScheduler(
      HEALTH,
      { every: healthEveryMs },
      { name: HEALTH, opts: { removeOnComplete: 100, removeOnFail: 100 } },
    );
  }
  const worker = new Worker(
    FLEET_QUEUE,
    async (job) => {
      if (job.name === HEALTH) {
        // A process without ClickHouse may take the tick: it leaves it to the next one.
        if (!opts.clickhouse) return { recorded: 0 };
        // Two ticks: a heartbeat is copied even when one tick ran late, and an agent silent for
        // longer (offline at three intervals) shows as a gap, not a repeated last sample.
        const windowS = (2 * healthEveryMs) / 1000;
        return { recorded: await unsafeRecordAgentHealth(opts.db, opts.clickhouse, { windowS }) };
      }
      if (job.name === ARCHIVE) {
        const events = await unsafeArchiveSilentAgents(opts.db, {
          afterS: opts.archive?.afterS ?? DEFAULT_ARCHIVE_AFTER_S,
        });
        for (const e of events) opts.log.info(e, `agent ${e.action}`);
        return { events: events.length };
      }
      if (job.name === ROLLOUTS) {
        const events = await unsafeAdvanceRollouts(opts.db);
        for (const e of events) opts.log.info(e, `configuration rollout ${e.action}`);
        return { events: events.length };
      }
      if (job.name === REBALANCE) {
        const r = await unsafeRebalanceDataNodes(opts.db, opts.connection, {
          nodeMissAfterS: opts.rebalance?.nodeMissAfterS ?? DEFAULT_REBALANCE.nodeMissAfterS,
        });
        if (r.downNodes.length)
          opts.log.warn({ nodes: r.downNodes }, "data nodes missed heartbeats: marked down");
        if (r.moves.length) opts.log.info({ moves: r.moves.length }, "agents reassigned to data nodes");
        return { down: r.downNodes.length, moves: r.moves.length };
      }
      if (job.name !== MARK_OFFLINE) return;
      const marked = await unsafeMarkSilentAgentsOffline(opts.db);
      for (const m of marked) opts.log.info(m, "agent silent for 3 sync intervals: marked offline");
      return { marked: marked.length };
    },
    { connection: workerConnection, prefix, concurrency: 1 },
  );
  worker.on("failed", (job, err) => opts.log.warn({ err, job: job?.name }, "fleet job failed"));
  return {
    queue,
    worker,
    close: () => close(worker),
  };
}
