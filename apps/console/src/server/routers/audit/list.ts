import type { Prisma } from "@flowplane/db";
import { z } from "zod";
import { orgProcedure } from "../../trpc/procedures.ts";

const entry = z.object({
  id: z.string(),
  createdAt: z.string(),
  actorType: z.enum(["user", "api_key", "agent", "system"]),
  actorId: z.string().nullable(),
  /** The user's email, the key's name, else the id. */
  actorLabel: z.string(),
  action: z.string(),
  targetType: z.string().nullable(),
  targetId: z.string().nullable(),
  before: z.unknown(),
  after: z.unknown(),
});

/**
 * The org's audit log, newest first, filtered by actor (id or email), action (prefix: "members."
 * matches every members action), target (type or id) and time range; keyset-paginated by
 * (createdAt, id) so pages stay stable while rows are added.
 */
export const list = orgProcedure("audit.read")
  .input(
    z.object({
      actor: z.string().trim().max(200).optional(),
      action: z.string().trim().max(100).optional(),
      target: z.string().trim().max(200).optional(),
      from: z.iso.datetime({ offset: true }).optional(),
      to: z.iso.datetime({ offset: true }).optional(),
      cursor: z.string().max(100).optional(),
      limit: z.number().int().min(1).max(200).default(50),
    }),
  )
  .output(z.object({ items: z.array(entry), nextCursor: z.string().nullable() }))
  .query(async ({ ctx, input }) => {
    const and: Prisma.AuditLogWhereInput[] = [];
    if (input.actor) {
      // An email names a user (members only); anything else is an actor id.
      const users = input.actor.includes("@")
        ? await ctx.db.user.findMany({
            where: { email: { contains: input.actor.toLowerCase() } },
            select: { id: true },
          })
        : [];
      and.push({ actorId: { in: [input.actor, ...users.map((u) => u.id)] } });
    }
    if (input.action) and.push({ action: { startsWith: input.action } });
    if (input.target) and.push({ OR: [{ targetType: input.target }, { targetId: input.target }] });
    if (input.from) and.push({ createdAt: { gte: new Date(input.from) } });
    if (input.to) and.push({ createdAt: { lte: new Date(input.to) } });
    if (input.cursor) {
      const [at, id] = input.cursor.split("_");
      const when = new Date(at ?? "");
      if (id && !Number.isNaN(when.getTime())) {
        and.push({ OR: [{ createdAt: { lt: when } }, { createdAt: when, id: { lt: id } }] });
      }
    }
    const rows = await ctx.db.auditLog.findMany({
      where: { AND: and },
      orderBy: [{ createdAt: "desc" }, { id: "desc" }],
      take: input.limit + 1,
    });
    const page = rows.slice(0, input.limit);
    const userIds = [
      ...new Set(page.filter((r) => r.actorType === "user" && r.actorId).map((r) => r.actorId as string)),
    ];
    const keyIds = [
      ...new Set(page.filter((r) => r.actorType === "api_key" && r.actorId).map((r) => r.actorId as string)),
    ];
    const [users, keys] = await Promise.all([
      userIds.length
        ? ctx.db.user.findMany({ where: { id: { in: userIds } }, select: { id: true, email: true } })
        : [],
      keyIds.length
        ? ctx.db.apiKey.findMany({
            where: { id: { in: keyIds } },
            select: { id: true, name: true, prefix: true },
          })
        : [],
    ]);
    const labels = new Map<string, string>([
      ...users.map((u) => [u.id, u.email] as [string, string]),
      ...keys.map((k) => [k.id, `key ${k.name} (${k.prefix})`] as [string, string]),
    ]);
    const last = page.at(-1);
    return {
      items: page.map((r) => ({
        id: r.id,
        createdAt: r.createdAt.toISOString(),
        actorType: r.actorType,
        actorId: r.actorId,
        actorLabel: (r.actorId && labels.get(r.actorId)) ?? r.actorId ?? r.actorType,
        action: r.action,
        targetType: r.targetType,
        targetId: r.targetId,
        before: r.before,
        after: r.after,
      })),
      nextCursor: rows.length > input.limit && last ? `${last.createdAt.toISOString()}_${last.id}` : null,
    };
  });
