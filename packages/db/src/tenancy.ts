import type { Prisma } from "./generated/prisma/browser.ts";

/**
 * How each model is reached through the tenant-scoped client `forOrg(orgId)`:
 * - `tenant`: has `orgId`; every query is filtered by it and every create stamped with it.
 * - `organization`: the tenant row itself; readable and updatable only as `id = orgId`.
 * - `members`: users, readable only when they hold a membership in the org (team pages); never written.
 * - `platform`: not reachable at all (sign-in, next-auth, data nodes): use `db.unsafe`.
 * `satisfies Record<ModelName, …>` makes adding a model without deciding its scope a type error.
 */
export const MODEL_SCOPE = {
  Organization: "organization",
  User: "members",
  Membership: "tenant",
  Invitation: "tenant",
  ApiKey: "tenant",
  AuditLog: "tenant",
  AgentGroup: "tenant",
  AgentGroupConfig: "tenant",
  Agent: "tenant",
  EnrollmentToken: "tenant",
  PacketBrokerPolicy: "tenant",
  CloudAccount: "tenant",
  CloudResource: "tenant",
  CloudResourceChange: "tenant",
  CloudInventory: "tenant",
  Account: "platform",
  Session: "platform",
  VerificationToken: "platform",
  DataNode: "platform",
  OrganizationPurge: "platform",
} as const satisfies Record<Prisma.ModelName, "tenant" | "organization" | "members" | "platform">;

export type TModelScope = (typeof MODEL_SCOPE)[keyof typeof MODEL_SCOPE];

export const TENANT_MODELS = Object.entries(MODEL_SCOPE)
  .filter(([, scope]) => scope === "tenant")
  .map(([model]) => model) as Prisma.ModelName[];
