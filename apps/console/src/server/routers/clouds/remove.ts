import { CloudAccountNotFoundError, removeCloudAccount } from "@flowplane/db/clouds";
import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { writeAudit } from "../../audit.ts";
import { orgProcedure } from "../../trpc/procedures.ts";

/**
 * Removes a source: the account and its resources are marked deleted (their tag ids still name
 * old rows; history keeps a `deleted` change each) and the org's dictionary version moves. The
 * controller's scan unschedules the sync and pushes the version, so taggers stop using them.
 */
export const remove = orgProcedure("cloud.write")
  .input(z.object({ accountId: z.uuid() }))
  .output(z.object({ id: z.string(), deletedResources: z.number().int() }).strict())
  .mutation(async ({ ctx, input }) => {
    try {
      const r = await removeCloudAccount(ctx.db, ctx.org.id, input.accountId);
      await writeAudit(ctx, {
        action: "clouds.remove",
        targetType: "cloud_account",
        targetId: r.id,
        before: { id: r.id, kind: r.kind, name: r.name, lastSyncAt: r.lastSyncAt, createdAt: r.createdAt },
        after: { deletedResources: r.deletedResources },
      });
      return { id: r.id, deletedResources: r.deletedResources };
    } catch (err) {
      if (err instanceof CloudAccountNotFoundError) {
        throw new TRPCError({ code: "NOT_FOUND", message: "No such cloud account in this organization." });
      }
      throw err;
    }
  });
