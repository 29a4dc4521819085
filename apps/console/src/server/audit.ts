import type { Prisma } from "@flowplane/db";
import type { Principal } from "./auth/principal.ts";
import type { TenantDb } from "./db.ts";

export type AuditEntry = {
  action: string;
  targetType?: string;
  targetId?: string | null;
  before?: unknown;
  after?: unknown;
};

/** Who did it, as the audit log records it. */
export function actorOf(principal: Principal): { actorType: "user" | "api_key"; actorId: string } {
  return principal.kind === "user"
    ? { actorType: "user", actorId: principal.userId }
    : { actorType: "api_key", actorId: principal.apiKeyId };
}

// Dates and other non-JSON values become their JSON form; undefined stays "no value".
function json(value: unknown): Prisma.InputJsonValue | undefined {
  return value === undefined ? undefined : (JSON.parse(JSON.stringify(value)) as Prisma.InputJsonValue);
}

/**
 * Appends one audit row for a change in the caller's org. Every mutation calls this with the
 * state before and after (secrets never included: tokens are shown once and stored hashed).
 */
export async function writeAudit(
  ctx: { db: TenantDb; org: { id: string }; principal: Principal; ip?: string | null },
  entry: AuditEntry,
): Promise<void> {
  await ctx.db.auditLog.create({
    data: {
      orgId: ctx.org.id,
      ...actorOf(ctx.principal),
      action: entry.action,
      targetType: entry.targetType ?? null,
      targetId: entry.targetId ?? null,
      before: json(entry.before),
      after: json(entry.after),
      ip: ctx.ip ?? null,
    },
  });
}
