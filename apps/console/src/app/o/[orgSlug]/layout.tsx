import { AppShell } from "@flowplane/ui";
import { notFound } from "next/navigation";
import type { ReactNode } from "react";
import { OrgNav } from "../../../components/OrgNav.tsx";
import { OrgSwitcher } from "../../../components/OrgSwitcher.tsx";
import { SignOutButton } from "../../../components/SignOutButton.tsx";
import { requireUser } from "../../../server/auth/current-user.ts";
import { serverCaller } from "../../../server/caller.ts";
import { TrpcReactProvider } from "../../../trpc/react.tsx";

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
  // Not a member looks exactly like "no such org".
  if (!orgs.some((o) => o.slug === orgSlug)) notFound();
  return (
    <AppShell
      brandHref={`/o/${orgSlug}`}
      switcher={<OrgSwitcher orgs={orgs} current={orgSlug} />}
      user={
        <>
          <span title={user.email}>{user.name ?? user.email}</span>
          <SignOutButton />
        </>
      }
      sidebar={<OrgNav orgSlug={orgSlug} />}
    >
      <TrpcReactProvider>{children}</TrpcReactProvider>
    </AppShell>
  );
}
