import { ZAgentOverload } from "@flowplane/protocol";
import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { orgProcedure } from "../../trpc/procedures.ts";
import { agentRow, statsOf } from "./list.ts";

/** What the detail page says about the agent's overload governor (docs/overload-limits.md). */
const ZOverloadSummary = ZAgentOverload.pick({ step: true, reason: true, shedPackets: true, heldRows: true });

/**
 * One agent with what the detail page explains: config revision, last apply outcome, data node,
 * and where its overload governor stood at the last heartbeat (null from agents that do not say).
 */
export const get = orgProcedure("agents.read")
  .input(z.object({ agentId: z.uuid() }))
  .output(
    agentRow.extend({
      os: z.string().nullable(),
      enrolledAt: z.string(),
      disabledAt: z.string().nullable(),
      groupRevision: z.number().int(),
      lastConfigRevision: z.number().int().nullable(),
      lastConfigOk: z.boolean().nullable(),
      lastConfigError: z.string().nullable(),
      stats: z.record(z.string(), z.unknown()),
      overload: ZOverloadSummary.nullable(),
    }),
  )
  .query(async ({ ctx, input }) => {
    const a = await ctx.db.agent.findUnique({
      where: { id: input.agentId },
      include: {
        group: { select: { name: true, currentRevision: true } },
        dataNode: { select: { name: true } },
      },
    });
    if (!a) throw new TRPCError({ code: "NOT_FOUND", message: "No such agent." });
    const iso = (d: Date | null) => (d ? d.toISOString() : null);
    const stats =
      a.stats && typeof a.stats === "object" && !Array.isArray(a.stats)
        ? (a.stats as Record<string, unknown>)
        : {};
    return {
      id: a.id,
      name: a.name,
      hostname: a.hostname,
      ips: a.ips.join(", "),
      state: a.state,
      version: a.version,
      groupId: a.groupId,
      groupName: a.group.name,
      lastSeenAt: iso(a.lastSeenAt),
      protectiveMode: a.protectiveMode,
      appliedRevision: a.appliedRevision,
      ...statsOf(a.stats),
      os: a.os,
      enrolledAt: a.enrolledAt.toISOString(),
      disabledAt: iso(a.disabledAt),
      groupRevision: a.group.currentRevision,
      lastConfigRevision: a.lastConfigRevision,
      lastConfigOk: a.lastConfigOk,
      lastConfigError: a.lastConfigError,
      dataNode: a.dataNode?.name ?? null,
      archivedAt: iso(a.archivedAt),
      stats,
      overload: ZOverloadSummary.safeParse(stats.overload).data ?? null,
    };
  });
