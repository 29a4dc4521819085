import { z } from "zod";
import { orgProcedure } from "../../trpc/procedures.ts";

export const agentState = z.enum(["pending", "online", "degraded", "offline", "disabled"]);

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
});

export const list = orgProcedure("agents.read")
  .input(z.object({ state: agentState.optional(), groupId: z.uuid().optional() }))
  .output(z.array(agentRow))
  .query(async ({ ctx, input }) => {
    const agents = await ctx.db.agent.findMany({
      where: {
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
        group: { select: { name: true } },
      },
      orderBy: [{ name: "asc" }, { id: "asc" }],
      take: 5000,
    });
    return agents.map(({ group, lastSeenAt, ips, stats, ...a }) => ({
      ...a,
      ips: ips.join(", "),
      groupName: group.name,
      lastSeenAt: lastSeenAt ? lastSeenAt.toISOString() : null,
      ...statsOf(stats),
    }));
  });
