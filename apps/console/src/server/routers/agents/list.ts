import { z } from "zod";
import { orgProcedure } from "../../trpc/procedures.ts";

export const agentState = z.enum(["pending", "online", "degraded", "offline", "disabled"]);

/** Offline (or never-seen pending) agents silent this long leave the default list. */
export const HIDE_SILENT_AFTER_S = 24 * 3600;

/**
 * Which agents the list shows: `active` (default) leaves out archived agents and those silent for
 * over HIDE_SILENT_AFTER_S; `all` adds the silent ones; `archived` shows only what the controller's
 * archive job archived.
 */
export const agentView = z.enum(["active", "all", "archived"]);

/** The self-statistics the table shows, read leniently from the agent's last heartbeat. */
export function statsOf(raw: unknown): {
  cpuPct: number | null;
  memBytes: number | null;
  packetsPerS: number | null;
} {
  const s = (raw && typeof raw === "object" ? raw : {}) as Record<string, unknown>;
  const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : null);
  return { cpuPct: num(s.cpuPct), memBytes: num(s.memBytes), packetsPerS: num(s.packetsPerS) };
}

/** One row of the fleet table. Credentials and hashes never leave the server. */
export const agentRow = z.object({
  id: z.string(),
  name: z.string(),
  hostname: z.string(),
  ips: z.string(),
  state: agentState,
  version: z.string().nullable(),
  groupId: z.string(),
  groupName: z.string(),
  /** ISO 8601, so the row is the same over HTTP (JSON) and in server components. */
  lastSeenAt: z.string().nullable(),
  cpuPct: z.number().nullable(),
  memBytes: z.number().nullable(),
  packetsPerS: z.number().nullable(),
  protectiveMode: z.boolean(),
  appliedRevision: z.number().int(),
  dataNode: z.string().nullable(),
  /** ISO 8601 when archived, else null. */
  archivedAt: z.string().nullable(),
});

/** The Prisma filter of a list view (silence counts from enrolment for agents never seen). */
export function viewWhere(view: z.infer<typeof agentView>, now = Date.now()) {
  if (view === "archived") return { archivedAt: { not: null } };
  if (view === "all") return { archivedAt: null };
  const cutoff = new Date(now - HIDE_SILENT_AFTER_S * 1000);
  return {
    archivedAt: null,
    NOT: {
      state: { in: ["offline" as const, "pending" as const] },
      OR: [{ lastSeenAt: { lt: cutoff } }, { lastSeenAt: null, enrolledAt: { lt: cutoff } }],
    },
  };
}

export const list = orgProcedure("agents.read")
  .input(
    z.object({
      state: agentState.optional(),
      groupId: z.uuid().optional(),
      view: agentView.default("active"),
    }),
  )
  .output(z.array(agentRow))
  .query(async ({ ctx, input }) => {
    const agents = await ctx.db.agent.findMany({
      where: {
        ...viewWhere(input.view),
        ...(input.state ? { state: input.state } : {}),
        ...(input.groupId ? { groupId: input.groupId } : {}),
      },
      select: {
        id: true,
        name: true,
        hostname: true,
        ips: true,
        state: true,
        version: true,
        lastSeenAt: true,
        groupId: true,
        protectiveMode: true,
        appliedRevision: true,
        stats: true,
        archivedAt: true,
        group: { select: { name: true } },
        dataNode: { select: { name: true } },
      },
      orderBy: [{ name: "asc" }, { id: "asc" }],
      take: 5000,
    });
    return agents.map(({ group, dataNode, lastSeenAt, archivedAt, ips, stats, ...a }) => ({
      ...a,
      ips: ips.join(", "),
      groupName: group.name,
      dataNode: dataNode?.name ?? null,
      lastSeenAt: lastSeenAt ? lastSeenAt.toISOString() : null,
      archivedAt: archivedAt ? archivedAt.toISOString() : null,
      ...statsOf(stats),
    }));
  });
