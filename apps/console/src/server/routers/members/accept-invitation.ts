import { hashToken, roleAtLeast } from "@flowplane/db";
import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { writeAudit } from "../../audit.ts";
import { authedProcedure } from "../../trpc/procedures.ts";

/**
 * Joins the org of a one-time invitation link. Only the invited email's account may use it; an
 * existing member keeps the higher of the two roles.
 */
export const acceptInvitation = authedProcedure
  .input(z.object({ token: z.string().min(10).max(200) }))
  .output(z.object({ orgSlug: z.string(), role: z.enum(["owner", "admin", "editor", "viewer"]) }))
  .mutation(async ({ ctx, input }) => {
    // Unscoped by necessity: the token is what names the org.
    const inv = await ctx.db.unsafe.invitation.findUnique({
      where: { tokenHash: hashToken(input.token) },
      include: { organization: { select: { id: true, name: true, slug: true, deletedAt: true } } },
    });
    if (!inv || inv.acceptedAt || inv.expiresAt <= new Date() || inv.organization.deletedAt) {
      throw new TRPCError({
        code: "NOT_FOUND",
        message: "This invitation is invalid, used or expired. Ask for a new one.",
      });
    }
    if (inv.email !== ctx.principal.email.toLowerCase()) {
      throw new TRPCError({
        code: "FORBIDDEN",
        message: `This invitation is for ${inv.email}. Sign in with that account to accept it.`,
      });
    }
    const { organization: org } = inv;
    const db = ctx.db.forOrg(org.id);
    // Claim the invitation first so two tabs cannot both use it.
    const claimed = await db.invitation.updateMany({
      where: { id: inv.id, acceptedAt: null },
      data: { acceptedAt: new Date() },
    });
    if (claimed.count !== 1)
      throw new TRPCError({ code: "NOT_FOUND", message: "This invitation was already used." });
    const existing = await db.membership.findUnique({
      where: { orgId_userId: { orgId: org.id, userId: ctx.principal.userId } },
      select: { role: true },
    });
    const role = existing && roleAtLeast(existing.role, inv.role) ? existing.role : inv.role;
    await db.membership.upsert({
      where: { orgId_userId: { orgId: org.id, userId: ctx.principal.userId } },
      create: { orgId: org.id, userId: ctx.principal.userId, role },
      update: { role },
    });
    await writeAudit(
      { db, org, principal: ctx.principal, ip: ctx.ip },
      {
        action: "members.join",
        targetType: "user",
        targetId: ctx.principal.userId,
        before: existing ? { role: existing.role } : null,
        after: { role, invitationId: inv.id },
      },
    );
    return { orgSlug: org.slug, role };
  });
