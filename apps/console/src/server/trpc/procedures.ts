import { FlowplaneError } from "@flowplane/core/errors";
import { can, type TPermission, type TRole } from "@flowplane/db";
import { TRPCError } from "@trpc/server";
import { z } from "zod";
import type { Principal } from "../auth/principal.ts";
import type { Db } from "../db.ts";
import { baseProcedure } from "./init.ts";

/** A permission string understood by `can(role, permission)` (e.g. "agents.read"). */
export type Permission = TPermission;
export type Role = TRole;

export const publicProcedure = baseProcedure;

/** Needs a signed-in principal: a user session (JWT re-checked against the database) or an API key. */
export const principalProcedure = baseProcedure.use(({ ctx, next }) => {
  if (!ctx.principal) throw new TRPCError({ code: "UNAUTHORIZED", message: "Sign in to continue." });
  return next({ ctx: { principal: ctx.principal } });
});

/**
 * Needs a signed-in *user* (account and cross-org procedures: org.list, org.create, invitations).
 * API keys belong to one org and reach only orgProcedure.
 */
export const authedProcedure = principalProcedure.use(({ ctx, next }) => {
  if (ctx.principal.kind !== "user") {
    throw new TRPCError({ code: "FORBIDDEN", message: "API keys can only call organization procedures." });
  }
  return next({ ctx: { principal: ctx.principal } });
});

/** Every org procedure takes the org by slug (or the `x-flowplane-org` header for scripts). */
export const orgInput = z.object({ orgSlug: z.string().min(1).max(64).optional() });

export type OrgAccess = { org: { id: string; name: string; slug: string }; role: Role };

/**
 * Which org `slug` names for this principal, and the principal's role there; null when the org
 * does not exist, is being deleted, or the principal is not a member. Callers answer NOT_FOUND
 * for null so that other tenants' org names cannot be probed.
 */
export async function resolveOrgAccess(
  db: Db,
  principal: Principal,
  slug: string,
): Promise<OrgAccess | null> {
  const org = await db.unsafe.organization.findFirst({
    where: { slug, deletedAt: null },
    select: { id: true, name: true, slug: true },
  });
  if (!org) return null;
  switch (principal.kind) {
    case "user": {
      const membership = await db.unsafe.membership.findUnique({
        where: { orgId_userId: { orgId: org.id, userId: principal.userId } },
        select: { role: true },
      });
      return membership ? { org, role: membership.role as Role } : null;
    }
    case "apiKey":
      // The key's org and role replace membership; any other org is "not found".
      return principal.orgId === org.id ? { org, role: principal.role } : null;
  }
}

/**
 * The org check itself, usable outside tRPC too (route handlers, server actions): the org and
 * role, or a FlowplaneError — NOT_FOUND when the org does not exist or the principal is not a
 * member (so other tenants cannot be probed), FORBIDDEN when the role lacks `permission`.
 */
export async function checkOrgAccess(
  db: Db,
  principal: Principal,
  slug: string,
  permission: Permission,
): Promise<OrgAccess> {
  const access = await resolveOrgAccess(db, principal, slug);
  if (!access) throw new FlowplaneError("NOT_FOUND", `Organization "${slug}" not found.`);
  if (!can(access.role, permission)) {
    throw new FlowplaneError(
      "FORBIDDEN",
      `Your role (${access.role}) in ${access.org.name} does not allow ${permission}.`,
      { permission, role: access.role },
    );
  }
  return access;
}

/**
 * The few platform-level writes an org procedure may need, as named operations instead of the
 * unscoped client (which orgProcedure removes from the context).
 */
export function platformOps(db: Db) {
  return {
    /** Bumps a user's session version: every session of theirs ends at once. */
    async endSessionsOf(userId: string): Promise<void> {
      await db.unsafe.user.update({ where: { id: userId }, data: { sessionVersion: { increment: 1 } } });
    },
    /**
     * Data nodes are platform rows shared by every org: their health and the balancer's measured
     * load, never which other org's agents they serve.
     */
    async listDataNodes() {
      return db.unsafe.dataNode.findMany({
        select: {
          id: true,
          name: true,
          state: true,
          capacity: true,
          lastHealthAt: true,
          observedRowsPerS: true,
          loadMeasuredAt: true,
        },
        orderBy: { name: "asc" },
      });
    },
  };
}

/**
 * THE tenant choke point for the API. Resolves the org from `orgSlug` (or the
 * `x-flowplane-org` header), runs `checkOrgAccess`, and hands the resolver `ctx.org`, `ctx.role`
 * and `ctx.db` = a client scoped to that org (the unscoped one is no longer on the context).
 * FlowplaneErrors become NOT_FOUND / FORBIDDEN through the error table in baseProcedure.
 */
export function orgProcedure(permission: Permission) {
  return principalProcedure
    .meta({ permission })
    .input(orgInput)
    .use(async ({ ctx, input, next }) => {
      const slug = input.orgSlug ?? ctx.orgSlugHeader;
      if (!slug) {
        throw new TRPCError({
          code: "BAD_REQUEST",
          message: "Say which organization: orgSlug or the x-flowplane-org header.",
        });
      }
      const access = await checkOrgAccess(ctx.db, ctx.principal, slug, permission);
      return next({
        ctx: {
          platform: platformOps(ctx.db),
          org: access.org,
          role: access.role,
          db: ctx.db.forOrg(access.org.id),
          log: ctx.log.child({ orgId: access.org.id }),
        },
      });
    });
}
