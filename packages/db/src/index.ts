// @flowplane/db: types and pure helpers. Importing this never opens a connection; the client lives
// at @flowplane/db/client.

export { DATA_NODE_HEARTBEAT_S, DATA_NODE_MISS_AFTER_S } from "./data-nodes.ts";
// Model types (Agent, Organization, …), enums (Role, AgentState, …) and the Prisma namespace of
// input types, from the generated browser entry (no engine, no driver).
export * from "./generated/prisma/browser.ts";
export { hashPassword, verifyPassword } from "./passwords.ts";
export { can, isRole, PERMISSIONS, ROLES, roleAtLeast, type TPermission, type TRole } from "./roles.ts";
export { canaryIds, desiredRevision, isStaged, type TRolloutGroup } from "./rollout.ts";
export { MODEL_SCOPE, TENANT_MODELS, type TModelScope } from "./tenancy.ts";
export {
  type GeneratedToken,
  generateToken,
  hashToken,
  TOKEN_PREFIXES,
  type TTokenKind,
  tokenKind,
} from "./tokens.ts";
