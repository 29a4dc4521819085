import { formatIssues, type Policy, ZNpbPolicy } from "@flowplane/protocol";
import { TRPCError } from "@trpc/server";
import { z } from "zod";

/** What the console edits; `match` and `action` are checked with the agent's own schema. */
export const policyFields = {
  name: z.string().trim().min(1, "Give the policy a name.").max(200),
  priority: z.number().int().min(0).max(65_535),
  enabled: z.boolean(),
  /** Agent groups it applies to; empty = every group of the organization. */
  groupIds: z.array(z.uuid()).max(256),
  /** Keep evaluating lower-priority policies after this one matched. */
  continueMatching: z.boolean().default(false),
  match: z.unknown(),
  action: z.unknown(),
};

/**
 * Validates with @flowplane/protocol's ZNpbPolicy (the schema the controller distributes and the
 * agent compiles), so what the console accepts is what agents run. Refusals name the field, one
 * line per problem: "match.clientCidrs[1]: host bits set; did you mean 10.1.0.0/16?".
 */
export function validatePolicy(
  orgId: string,
  input: {
    name: string;
    priority: number;
    enabled: boolean;
    groupIds: string[];
    continueMatching: boolean;
    match: unknown;
    action: unknown;
  },
): Pick<Policy, "match" | "action"> {
  const r = ZNpbPolicy.safeParse({
    id: "console",
    orgId,
    name: input.name,
    priority: input.priority,
    enabled: input.enabled,
    agentGroups: input.groupIds,
    match: input.match ?? {},
    action: input.action,
    continue: input.continueMatching,
  });
  if (!r.success) {
    const lines = formatIssues(r.error, "").map((l) => l.replace(/^\./, ""));
    throw new TRPCError({ code: "BAD_REQUEST", message: `Invalid policy: ${lines.join("; ")}` });
  }
  return { match: r.data.match, action: r.data.action };
}

/** Every group id must be one of the caller's org's groups (the scoped client sees only those). */
export async function checkGroups(
  db: {
    agentGroup: {
      findMany(a: { where: { id: { in: string[] } }; select: { id: true } }): Promise<{ id: string }[]>;
    };
  },
  groupIds: string[],
): Promise<void> {
  if (groupIds.length === 0) return;
  const found = new Set(
    (await db.agentGroup.findMany({ where: { id: { in: groupIds } }, select: { id: true } })).map(
      (g) => g.id,
    ),
  );
  const missing = groupIds.findIndex((id) => !found.has(id));
  if (missing >= 0)
    throw new TRPCError({
      code: "BAD_REQUEST",
      message: `Invalid policy: groupIds[${missing}]: no such agent group`,
    });
}
