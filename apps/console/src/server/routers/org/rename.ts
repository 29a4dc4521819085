import { z } from "zod";
import { writeAudit } from "../../audit.ts";
import { orgProcedure } from "../../trpc/procedures.ts";
import { orgName } from "./create.ts";

/** Renames the org (the slug, which URLs and scripts use, stays). */
export const rename = orgProcedure("org.update")
  .input(z.object({ name: orgName }))
  .output(z.object({ id: z.string(), name: z.string(), slug: z.string() }))
  .mutation(async ({ ctx, input }) => {
    const after = await ctx.db.organization.update({
      where: { id: ctx.org.id },
      data: { name: input.name },
      select: { id: true, name: true, slug: true },
    });
    await writeAudit(ctx, {
      action: "org.rename",
      targetType: "organization",
      targetId: ctx.org.id,
      before: { name: ctx.org.name },
      after: { name: after.name },
    });
    return after;
  });
