import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { validateAgentConfig } from "../../agent-config.ts";
import { writeAudit } from "../../audit.ts";
import type { TenantDb } from "../../db.ts";
import { isUniqueViolation } from "../../prisma-errors.ts";
import { orgProcedure } from "../../trpc/procedures.ts";

/**
 * Appends revision n+1 with `config` and makes it current, unless someone saved meanwhile
 * (`baseRevision` is not current: CONFLICT, reload and retry). Shared by save and rollback.
 */
export async function appendRevision(
  ctx: Parameters<typeof writeAudit>[0] & { db: TenantDb },
  groupId: string,
  baseRevision: number,
  config: unknown,
  comment: string | null,
  action: string,
): Promise<{ revision: number }> {
  const valid = validateAgentConfig(config);
  if (!valid.ok)
    throw new TRPCError({
      code: "BAD_REQUEST",
      message: `Invalid configuration: ${valid.issues.join("; ")}`,
    });
  const group = await ctx.db.agentGroup.findUnique({
    where: { id: groupId },
    select: { id: true, currentRevision: true },
  });
  if (!group) throw new TRPCError({ code: "NOT_FOUND", message: "No such agent group." });
  if (group.currentRevision !== baseRevision) {
    throw new TRPCError({
      code: "CONFLICT",
      message: `Revision ${group.currentRevision} was saved meanwhile. Reload to see it, then apply your change again.`,
    });
  }
  const before = await ctx.db.agentGroupConfig.findFirst({
    where: { groupId, revision: baseRevision },
    select: { config: true },
  });
  const revision = baseRevision + 1;
  // One transaction for the new row, the pointer and the audit row: a crash in between cannot
  // leave a revision that is not current (which would block every later save). The unique
  // (group_id, revision) makes a concurrent second save fail rather than fork history.
  await ctx.db
    .$transaction(async (tx) => {
      await tx.agentGroupConfig.create({
        data: {
          orgId: ctx.org.id,
          groupId,
          revision,
          config: valid.config,
          comment,
          createdById: ctx.principal.kind === "user" ? ctx.principal.userId : null,
        },
      });
      const moved = await tx.agentGroup.updateMany({
        where: { id: groupId, currentRevision: baseRevision },
        data: { currentRevision: revision },
      });
      if (moved.count !== 1)
        throw new TRPCError({ code: "CONFLICT", message: "Another save won the race. Reload and retry." });
      await writeAudit(
        { ...ctx, db: tx as unknown as TenantDb },
        {
          action,
          targetType: "agent_group",
          targetId: groupId,
          before: { revision: baseRevision, config: before?.config ?? null },
          after: { revision, config: valid.config, comment },
        },
      );
    })
    .catch((err: unknown) => {
      if (isUniqueViolation(err))
        throw new TRPCError({ code: "CONFLICT", message: "Another save won the race. Reload and retry." });
      throw err;
    });
  return { revision };
}

/** Saves an edited configuration as a new revision (validated against the agent config schema). */
export const saveConfig = orgProcedure("groups.write")
  .input(
    z.object({
      groupId: z.uuid(),
      baseRevision: z.number().int().min(0),
      config: z.unknown(),
      comment: z.string().trim().max(500).optional(),
    }),
  )
  .output(z.object({ revision: z.number().int() }))
  .mutation(({ ctx, input }) =>
    appendRevision(
      ctx,
      input.groupId,
      input.baseRevision,
      input.config,
      input.comment || null,
      "groups.config.save",
    ),
  );
