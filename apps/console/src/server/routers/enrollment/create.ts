import { generateToken } from "@flowplane/db";
import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { writeAudit } from "../../audit.ts";
import { orgProcedure } from "../../trpc/procedures.ts";
import { agentCommand, controllerUrl } from "./command.ts";

/** Creates a token bound to a group, with an expiry; the token and the agent command are shown once. */
export const create = orgProcedure("enrollment.write")
  .input(
    z.object({
      groupId: z.uuid(),
      name: z.string().trim().min(1, "Give the token a name.").max(100),
      expiresInHours: z
        .number()
        .int()
        .min(1)
        .max(24 * 365)
        .default(24),
      maxUses: z.number().int().min(1).max(100_000).optional(),
    }),
  )
  .output(
    z.object({
      id: z.string(),
      prefix: z.string(),
      token: z.string(),
      expiresAt: z.string(),
      command: z.string(),
    }),
  )
  .mutation(async ({ ctx, input }) => {
    const group = await ctx.db.agentGroup.findUnique({
      where: { id: input.groupId },
      select: { id: true, name: true },
    });
    if (!group) throw new TRPCError({ code: "NOT_FOUND", message: "No such agent group." });
    const { token, prefix, hash } = generateToken("enrol");
    const expiresAt = new Date(Date.now() + input.expiresInHours * 3_600_000);
    const row = await ctx.db.enrollmentToken.create({
      data: {
        orgId: ctx.org.id,
        groupId: group.id,
        name: input.name,
        prefix,
        tokenHash: hash,
        expiresAt,
        maxUses: input.maxUses ?? null,
        createdById: ctx.principal.kind === "user" ? ctx.principal.userId : null,
      },
      select: { id: true },
    });
    await writeAudit(ctx, {
      action: "enrollment.create",
      targetType: "enrollment_token",
      targetId: row.id,
      after: { name: input.name, prefix, group: group.name, expiresAt, maxUses: input.maxUses ?? null },
    });
    return {
      id: row.id,
      prefix,
      token,
      expiresAt: expiresAt.toISOString(),
      command: agentCommand(controllerUrl(ctx.origin), token),
    };
  });
