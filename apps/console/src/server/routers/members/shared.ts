import { can, ROLES, type TRole } from "@flowplane/db";
import { TRPCError } from "@trpc/server";
import { z } from "zod";
import type { TenantDb } from "../../db.ts";

export const roleSchema = z.enum(ROLES);

/** Granting, changing or removing the owner role needs `members.owner` (owners only). */
export function assertMayTouchRole(callerRole: TRole, ...roles: TRole[]): void {
  if (roles.includes("owner") && !can(callerRole, "members.owner")) {
    throw new TRPCError({
      code: "FORBIDDEN",
      message: "Only an owner can grant, change or remove the owner role.",
    });
  }
}

/** An org never loses its last owner (it could not be managed or deleted any more). */
export async function assertNotLastOwner(db: TenantDb, userId: string): Promise<void> {
  const owners = await db.membership.findMany({ where: { role: "owner" }, select: { userId: true } });
  if (owners.length === 1 && owners[0]?.userId === userId) {
    throw new TRPCError({
      code: "BAD_REQUEST",
      message: "This is the last owner. Make someone else owner first.",
    });
  }
}
