import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { writeAudit } from "../../audit.ts";
import { orgProcedure } from "../../trpc/procedures.ts";

/** Days between "delete" and the purge of the org's data (apps/controller/src/jobs/purge-organizations.ts). */
export const DELETE_GRACE_DAYS = 7;

/**
 * Owner only, confirmed by typing the slug. The org disappears at once for everyone (every lookup
 * filters `deleted_at`); its rows stay until `delete_after`, when the purge job removes them.
 */
export const deleteOrg = orgProcedure("org.delete")
  .input(z.object({ confirmSlug: z.string().max(64) }))
  .output(z.object({ deleteAfter: z.string() }))
  .mutation(async ({ ctx, input }) => {
    if (input.confirmSlug.trim() !== ctx.org.slug) {
      throw new TRPCError({ code: "BAD_REQUEST", message: `Type the slug "${ctx.org.slug}" to confirm.` });
    }
    const now = new Date();
    const deleteAfter = new Date(now.getTime() + DELETE_GRACE_DAYS * 86_400_000);
    await ctx.db.organization.update({ where: { id: ctx.org.id }, data: { deletedAt: now, deleteAfter } });
    await writeAudit(ctx, {
      action: "org.delete",
      targetType: "organization",
      targetId: ctx.org.id,
      before: { deletedAt: null },
      after: { deletedAt: now, deleteAfter },
    });
    return { deleteAfter: deleteAfter.toISOString() };
  });
