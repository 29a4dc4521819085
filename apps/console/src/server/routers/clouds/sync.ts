import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { writeAudit } from "../../audit.ts";
import { orgProcedure } from "../../trpc/procedures.ts";
import { notFound } from "./detail.ts";
import { enqueueSyncNow, SyncQueueUnavailableError } from "./sync-queue.ts";

/**
 * Queues one sync of the account at once (the schedule keeps running). The account is looked up
 * through `ctx.db` first, so another org's id is NOT_FOUND and never reaches the queue; the job
 * carries the caller's org id, not one from the input.
 */
export const syncNow = orgProcedure("cloud.write")
  .input(z.object({ accountId: z.uuid() }))
  .output(z.object({ id: z.string(), jobId: z.string() }).strict())
  .mutation(async ({ ctx, input }) => {
    const account = await ctx.db.cloudAccount.findFirst({
      where: { id: input.accountId, deletedAt: null },
      select: { id: true, name: true, kind: true },
    });
    if (!account) throw notFound();
    let jobId: string;
    try {
      ({ jobId } = await enqueueSyncNow(ctx.org.id, account.id));
    } catch (err) {
      if (!(err instanceof SyncQueueUnavailableError)) throw err;
      ctx.log.warn({ accountId: account.id, error: err.message }, "cloud sync now: queue unreachable");
      throw new TRPCError({
        code: "SERVICE_UNAVAILABLE",
        message: "The job queue (Redis) is unreachable: the account still syncs on its schedule.",
      });
    }
    await writeAudit(ctx, {
      action: "clouds.syncNow",
      targetType: "cloud_account",
      targetId: account.id,
      after: { name: account.name, kind: account.kind, jobId },
    });
    return { id: account.id, jobId };
  });
