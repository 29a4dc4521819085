import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { validateAgentConfig } from "../../agent-config.ts";
import { writeAudit } from "../../audit.ts";
import { isUniqueViolation } from "../../prisma-errors.ts";
import { orgProcedure } from "../../trpc/procedures.ts";

export const groupName = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, "Use 1-63 letters, digits, dots, dashes or underscores.");

/** Creates a group with revision 1 of its configuration (the defaults unless a config is given). */
export const create = orgProcedure("groups.write")
  .input(
    z.object({
      name: groupName,
      description: z.string().trim().max(500).optional(),
      config: z.unknown().optional(),
    }),
  )
  .output(z.object({ id: z.string(), name: z.string(), currentRevision: z.number().int() }))
  .mutation(async ({ ctx, input }) => {
    const valid = validateAgentConfig(input.config ?? {});
    if (!valid.ok)
      throw new TRPCError({
        code: "BAD_REQUEST",
        message: `Invalid configuration: ${valid.issues.join("; ")}`,
      });
    const existing = await ctx.db.agentGroup.findFirst({ where: { name: input.name }, select: { id: true } });
    if (existing)
      throw new TRPCError({ code: "CONFLICT", message: `A group named "${input.name}" exists already.` });
    const group = await ctx.db.agentGroup.create({
      data: {
        orgId: ctx.org.id,
        name: input.name,
        description: input.description ?? null,
        currentRevision: 1,
      },
      select: { id: true, name: true, currentRevision: true },
    });
    await ctx.db.agentGroupConfig.create({
      data: {
        orgId: ctx.org.id,
        groupId: group.id,
        revision: 1,
        config: valid.config,
        comment: "initial",
        createdById: ctx.principal.kind === "user" ? ctx.principal.userId : null,
      },
    });
    await writeAudit(ctx, {
      action: "groups.create",
      targetType: "agent_group",
      targetId: group.id,
      after: { name: group.name, description: input.description ?? null, revision: 1, config: valid.config },
    });
    return group;
  });
