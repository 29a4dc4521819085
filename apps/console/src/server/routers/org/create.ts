import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { writeAudit } from "../../audit.ts";
import { isUniqueViolation } from "../../prisma-errors.ts";
import { authedProcedure } from "../../trpc/procedures.ts";

export const orgSlug = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$/, "Use 3-40 lowercase letters, digits and dashes.");
export const orgName = z.string().trim().min(1, "Give it a name.").max(100);

/** Creates an organization with the caller as its owner. */
export const create = authedProcedure
  .input(z.object({ name: orgName, slug: orgSlug }))
  .output(z.object({ id: z.string(), name: z.string(), slug: z.string() }))
  .mutation(async ({ ctx, input }) => {
    const principal = ctx.principal;
    let org: { id: string; name: string; slug: string };
    try {
      // Organization create is unscoped by nature (there is no org yet); the membership follows.
      org = await ctx.db.unsafe.organization.create({
        data: {
          name: input.name,
          slug: input.slug,
          memberships: { create: { userId: principal.userId, role: "owner" } },
        },
        select: { id: true, name: true, slug: true },
      });
    } catch (err) {
      if (isUniqueViolation(err)) {
        throw new TRPCError({
          code: "CONFLICT",
          message: `The slug "${input.slug}" is taken. Pick another.`,
        });
      }
      throw err;
    }
    await writeAudit(
      { db: ctx.db.forOrg(org.id), org, principal, ip: ctx.ip },
      { action: "org.create", targetType: "organization", targetId: org.id, after: org },
    );
    return org;
  });
