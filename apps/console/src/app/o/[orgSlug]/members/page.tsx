import type { Metadata } from "next";
import { MembersPanel } from "../../../../components/MembersPanel.tsx";
import { requireUser } from "../../../../server/auth/current-user.ts";
import { orNotFound, serverCaller } from "../../../../server/caller.ts";
import { pageAccess } from "../../../../server/page-access.ts";

export const metadata: Metadata = { title: "Members" };

export default async function MembersPage({ params }: { params: Promise<{ orgSlug: string }> }) {
  const { orgSlug } = await params;
  const user = await requireUser(`/o/${orgSlug}/members`);
  const access = await pageAccess(orgSlug);
  const api = await serverCaller();
  const canWrite = access.can("members.write");
  const [members, invitations] = await Promise.all([
    orNotFound(api.members.list({ orgSlug })),
    canWrite ? api.members.invitations({ orgSlug }) : Promise.resolve([]),
  ]);
  return (
    <>
      <div className="fp-page-head">
        <div>
          <h1>Members</h1>
          <p className="fp-page-sub">
            People in {access.org.name} and their roles. Your role: {access.role}.
          </p>
        </div>
      </div>
      <MembersPanel
        orgSlug={orgSlug}
        members={members}
        invitations={invitations}
        canWrite={canWrite}
        canOwner={access.can("members.owner")}
        meId={user.userId}
      />
    </>
  );
}
