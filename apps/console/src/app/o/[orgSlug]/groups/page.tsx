import type { Metadata } from "next";
import { GroupsPanel } from "../../../../components/GroupsPanel.tsx";
import { orNotFound, serverCaller } from "../../../../server/caller.ts";
import { pageAccess } from "../../../../server/page-access.ts";

export const metadata: Metadata = { title: "Agent groups" };

export default async function GroupsPage({ params }: { params: Promise<{ orgSlug: string }> }) {
  const { orgSlug } = await params;
  const access = await pageAccess(orgSlug);
  const groups = await orNotFound((await serverCaller()).groups.list({ orgSlug }));
  return (
    <>
      <div className="fp-page-head">
        <div>
          <h1>Agent groups</h1>
          <p className="fp-page-sub">
            Each group has one configuration, versioned; agents pick it up at their next sync.
          </p>
        </div>
      </div>
      <GroupsPanel orgSlug={orgSlug} groups={groups} canWrite={access.can("groups.write")} />
    </>
  );
}
