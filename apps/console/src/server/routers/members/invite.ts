import { randomBytes } from "node:crypto";
import { hashToken } from "@flowplane/db";
import { z } from "zod";
import { writeAudit } from "../../audit.ts";
import { orgProcedure } from "../../trpc/procedures.ts";
import { assertMayTouchRole, roleSchema } from "./shared.ts";

export const INVITATION_TTL_DAYS = 7;

/**
 * Invites an email address with a role. The one-time link is returned once (the inviter passes
 * it on; no mailer yet); only its sha256 is stored. It works for that email's account only.
 */
export const invite = orgProcedure("members.write")
  .input(
    z.object({
      email: z.string().trim().toLowerCase().pipe(z.email("Enter a valid email address.")),
      role: roleSchema,
    }),
  )
  .output(
    z.object({
      id: z.string(),
      email: z.string(),
      role: roleSchema,
      link: z.string(),
      expiresAt: z.string(),
    }),
  )
  .mutation(async ({ ctx, input }) => {
    assertMayTouchRole(ctx.role, input.role);
    // 256 random bits; only the sha256 is stored (like every Flowplane token).
    const secret = `fpi_${randomBytes(32).toString("base64url")}`;
    const expiresAt = new Date(Date.now() + INVITATION_TTL_DAYS * 86_400_000);
    const row = await ctx.db.invitation.create({
      data: {
        orgId: ctx.org.id,
        email: input.email,
        role: input.role,
        tokenHash: hashToken(secret),
        invitedById: ctx.principal.kind === "user" ? ctx.principal.userId : null,
        expiresAt,
      },
      select: { id: true, email: true, role: true, expiresAt: true },
    });
    await writeAudit(ctx, {
      action: "members.invite",
      targetType: "invitation",
      targetId: row.id,
      after: { email: row.email, role: row.role, expiresAt },
    });
    return { ...row, link: `${ctx.origin ?? ""}/invite/${secret}`, expiresAt: expiresAt.toISOString() };
  });
