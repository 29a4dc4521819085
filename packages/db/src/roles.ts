/** Membership and API-key roles, most powerful first. */
export const ROLES = ["owner", "admin", "editor", "viewer"] as const;
export type TRole = (typeof ROLES)[number];

const RANK: Record<TRole, number> = { owner: 3, admin: 2, editor: 1, viewer: 0 };

/**
 * The least role each permission needs; a role holds every permission of the roles below it.
 * Keep README.md's table in step (a test compares them).
 */
export const PERMISSIONS = {
  "org.read": "viewer",
  "org.update": "admin",
  "org.delete": "owner",
  "members.read": "viewer",
  "members.write": "admin",
  "members.owner": "owner",
  "apikeys.read": "admin",
  "apikeys.write": "admin",
  "audit.read": "admin",
  "agents.read": "viewer",
  "agents.write": "editor",
  "groups.read": "viewer",
  "groups.write": "editor",
  "enrollment.read": "editor",
  "enrollment.write": "admin",
  "policies.read": "viewer",
  "policies.write": "editor",
  "cloud.read": "viewer",
  "cloud.write": "admin",
  "telemetry.read": "viewer",
} as const satisfies Record<string, TRole>;

export type TPermission = keyof typeof PERMISSIONS;

export function isRole(value: unknown): value is TRole {
  return typeof value === "string" && (ROLES as readonly string[]).includes(value);
}

/** Whether `role` may do `permission`. Unknown roles and permissions are refused, never guessed. */
export function can(role: TRole | string | null | undefined, permission: TPermission): boolean {
  if (!isRole(role)) return false;
  const needed: TRole | undefined = (PERMISSIONS as Record<string, TRole>)[permission];
  return needed !== undefined && RANK[role] >= RANK[needed];
}

/** Whether `role` ranks at least as high as `other` (e.g. an admin may not grant owner). */
export function roleAtLeast(role: TRole, other: TRole): boolean {
  return RANK[role] >= RANK[other];
}
