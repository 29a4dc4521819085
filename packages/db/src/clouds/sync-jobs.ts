// The cloud-sync queue as both sides use it: the controller schedules and works it
// (apps/controller/src/clouds/jobs.ts), the console's "Sync now" adds to it. Plain values only,
// so this module needs neither BullMQ nor Redis.

/** Redis key prefix of the controller's BullMQ queues (tests pass their own). */
export const BULL_PREFIX = "fp:bull";
export const CLOUD_SYNC_QUEUE = "cloud-sync";
/** Scheduled runs are named "sync"; a "Sync now" press is this job. The worker runs both alike. */
export const CLOUD_SYNC_NOW_JOB = "sync-now";

export type TCloudSyncJobData = { orgId: string; accountId: string };

/** Options of every cloud-sync job: retries with exponential backoff, a short history kept. */
export function cloudSyncJobOptions(o: { attempts?: number; backoffMs?: number } = {}) {
  return {
    attempts: o.attempts ?? 3,
    backoff: { type: "exponential" as const, delay: o.backoffMs ?? 5_000 },
    removeOnComplete: 100,
    removeOnFail: 100,
  };
}
