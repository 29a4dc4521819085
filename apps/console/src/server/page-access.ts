import { can, type TPermission, type TRole } from "@flowplane/db";
import { notFound } from "next/navigation";
import { cache } from "react";
import { serverCaller } from "./caller.ts";

/**
 * The signed-in user's role in `orgSlug` for a page, and the permission check the page uses to
 * decide what to show. Only a convenience for hiding controls: procedures enforce the same
 * matrix on the server whatever the page shows.
 */
export const pageAccess = cache(async (orgSlug: string) => {
  const orgs = await (await serverCaller()).org.list();
  const org = orgs.find((o) => o.slug === orgSlug);
  if (!org) notFound();
  const role = org.role as TRole;
  return { org, role, can: (permission: TPermission) => can(role, permission) };
});
