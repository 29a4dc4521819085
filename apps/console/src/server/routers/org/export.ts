import { z } from "zod";
import { orgProcedure } from "../../trpc/procedures.ts";

/**
 * The org's configuration as one JSON document (owner only): groups with every config revision,
 * members and roles, API keys and enrolment tokens without their secrets. Telemetry is not part
 * of it.
 */
export const exportConfig = orgProcedure("org.delete")
  .output(
    z.object({
      exportedAt: z.string(),
      organization: z.object({ name: z.string(), slug: z.string() }),
      groups: z.array(
        z.object({
          name: z.string(),
          description: z.string().nullable(),
          syncIntervalS: z.number().int(),
          currentRevision: z.number().int(),
          revisions: z.array(
            z.object({
              revision: z.number().int(),
              comment: z.string().nullable(),
              config: z.unknown(),
              createdAt: z.string(),
            }),
          ),
        }),
      ),
      members: z.array(z.object({ email: z.string(), role: z.string() })),
      apiKeys: z.array(
        z.object({ name: z.string(), prefix: z.string(), role: z.string(), revoked: z.boolean() }),
      ),
      enrollmentTokens: z.array(
        z.object({
          name: z.string(),
          prefix: z.string(),
          group: z.string(),
          expiresAt: z.string(),
          revoked: z.boolean(),
        }),
      ),
    }),
  )
  .query(async ({ ctx }) => {
    const [groups, configs, members, keys, tokens] = await Promise.all([
      ctx.db.agentGroup.findMany({ orderBy: { name: "asc" } }),
      ctx.db.agentGroupConfig.findMany({ orderBy: [{ groupId: "asc" }, { revision: "asc" }] }),
      ctx.db.membership.findMany({
        select: { role: true, user: { select: { email: true } } },
        orderBy: { createdAt: "asc" },
      }),
      ctx.db.apiKey.findMany({
        select: { name: true, prefix: true, role: true, revokedAt: true },
        orderBy: { createdAt: "asc" },
      }),
      ctx.db.enrollmentToken.findMany({
        select: {
          name: true,
          prefix: true,
          expiresAt: true,
          revokedAt: true,
          group: { select: { name: true } },
        },
        orderBy: { createdAt: "asc" },
      }),
    ]);
    return {
      exportedAt: new Date().toISOString(),
      organization: { name: ctx.org.name, slug: ctx.org.slug },
      groups: groups.map((g) => ({
        name: g.name,
        description: g.description,
        syncIntervalS: g.syncIntervalS,
        currentRevision: g.currentRevision,
        revisions: configs
          .filter((c) => c.groupId === g.id)
          .map((c) => ({
            revision: c.revision,
            comment: c.comment,
            config: c.config,
            createdAt: c.createdAt.toISOString(),
          })),
      })),
      members: members.map((m) => ({ email: m.user.email, role: m.role })),
      apiKeys: keys.map((k) => ({ name: k.name, prefix: k.prefix, role: k.role, revoked: !!k.revokedAt })),
      enrollmentTokens: tokens.map((t) => ({
        name: t.name,
        prefix: t.prefix,
        group: t.group.name,
        expiresAt: t.expiresAt.toISOString(),
        revoked: !!t.revokedAt,
      })),
    };
  });
