import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { writeAudit } from "../../audit.ts";
import { orgProcedure } from "../../trpc/procedures.ts";

/** Revokes a key: its next request is refused (401). The row stays for the audit trail. */
export const revoke = orgProcedure("apikeys.write")
  .input(z.object({ keyId: z.uuid() }))
  .output(z.object({ id: z.string(), revokedAt: z.string() }))
  .mutation(async ({ ctx, input }) => {
    const before = await ctx.db.apiKey.findUnique({
      where: { id: input.keyId },
      select: { id: true, name: true, prefix: true, role: true, revokedAt: true },
    });
    if (!before) throw new TRPCError({ code: "NOT_FOUND", message: "No such API key." });
    if (before.revokedAt) return { id: before.id, revokedAt: before.revokedAt.toISOString() };
    const revokedAt = new Date();
    await ctx.db.apiKey.update({ where: { id: before.id }, data: { revokedAt } });
    await writeAudit(ctx, {
      action: "apikeys.revoke",
      targetType: "api_key",
      targetId: before.id,
      before,
      after: { ...before, revokedAt },
    });
    return { id: before.id, revokedAt: revokedAt.toISOString() };
  });
