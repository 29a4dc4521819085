import { AppShell } from "@flowplane/ui";
import type { ReactNode } from "react";
import { OrgNav } from "../../../components/OrgNav.tsx";
import { OrgSwitcher } from "../../../components/OrgSwitcher.tsx";
import { SignOutButton } from "../../../components/SignOutButton.tsx";
import { orgSections } from "../../../components/sections.ts";
import { requireUser } from "../../../server/auth/current-user.ts";
import { serverCaller } from "../../../server/caller.ts";
import { pageAccess } from "../../../server/page-access.ts";

export const dynamic = "force-dynamic";

export default async function OrgLayout({
  children,
  params,
}: {
  children: ReactNode;
  params: Promise<{ orgSlug: string }>;
}) {
  const { orgSlug } = await params;
  const user = await requireUser(`/o/${orgSlug}`);
  const orgs = await (await serverCaller()).org.list();
  // Not a member looks exactly like "no such org" (pageAccess answers 404).
  const access = await pageAccess(orgSlug);
  const visible = orgSections(orgSlug)
    .filter((s) => access.can(s.permission))
    .map((s) => s.href);
  return (
    <AppShell
      brandHref={`/o/${orgSlug}`}
      switcher={<OrgSwitcher orgs={orgs} current={orgSlug} />}
      user={
        <>
          <a href="/orgs/new" className="fp-btn fp-btn-ghost">
            New organization
          </a>
          <a href="/account" title={user.email} className="fp-btn fp-btn-ghost">
            {user.name ?? user.email}
          </a>
          <SignOutButton />
        </>
      }
      sidebar={<OrgNav orgSlug={orgSlug} visible={visible} />}
    >
      {children}
    </AppShell>
  );
}
