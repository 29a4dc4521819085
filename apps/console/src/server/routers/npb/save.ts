import type { Prisma } from "@flowplane/db";
import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { writeAudit } from "../../audit.ts";
import { isUniqueViolation } from "../../prisma-errors.ts";
import { orgProcedure } from "../../trpc/procedures.ts";
import { checkGroups, policyFields, validatePolicy } from "./validate.ts";

/**
 * Creates a policy, or replaces one (`id`). Agents get it at their next sync: the controller's
 * NPB revision is a hash of the policies it sends.
 */
export const save = orgProcedure("policies.write")
  .input(z.object({ id: z.uuid().optional(), ...policyFields }))
  .output(z.object({ id: z.string() }))
  .mutation(async ({ ctx, input }) => {
    const { match, action } = validatePolicy(ctx.org.id, input);
    await checkGroups(ctx.db, input.groupIds);
    const data = {
      name: input.name,
      priority: input.priority,
      enabled: input.enabled,
      groupIds: input.groupIds,
      continueMatching: input.continueMatching,
      match: match as Prisma.InputJsonValue,
      action: action as Prisma.InputJsonValue,
    };
    const conflict = (err: unknown) => {
      if (isUniqueViolation(err))
        throw new TRPCError({ code: "CONFLICT", message: `A policy named "${input.name}" exists already.` });
      throw err;
    };
    if (input.id) {
      const before = await ctx.db.packetBrokerPolicy.findUnique({ where: { id: input.id } });
      if (!before) throw new TRPCError({ code: "NOT_FOUND", message: "No such policy." });
      await ctx.db.packetBrokerPolicy.update({ where: { id: input.id }, data }).catch(conflict);
      await writeAudit(ctx, {
        action: "npb.policy.update",
        targetType: "packet_broker_policy",
        targetId: input.id,
        before,
        after: data,
      });
      return { id: input.id };
    }
    const created = await ctx.db.packetBrokerPolicy
      .create({ data: { orgId: ctx.org.id, ...data }, select: { id: true } })
      .catch(conflict);
    await writeAudit(ctx, {
      action: "npb.policy.create",
      targetType: "packet_broker_policy",
      targetId: created.id,
      after: data,
    });
    return created;
  });
