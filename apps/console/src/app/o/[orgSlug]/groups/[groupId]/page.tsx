import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { GroupConfigEditor } from "../../../../../components/GroupConfigEditor.tsx";
import { AGENT_CONFIG_HELP } from "../../../../../server/agent-config.ts";
import { orNotFound, serverCaller } from "../../../../../server/caller.ts";
import { pageAccess } from "../../../../../server/page-access.ts";
import { RolloutPanel } from "./RolloutPanel.tsx";

export const metadata: Metadata = { title: "Agent group" };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export default async function GroupPage({
  params,
}: {
  params: Promise<{ orgSlug: string; groupId: string }>;
}) {
  const { orgSlug, groupId } = await params;
  if (!UUID.test(groupId)) notFound();
  const access = await pageAccess(orgSlug);
  const group = await orNotFound((await serverCaller()).groups.get({ orgSlug, groupId }));
  return (
    <>
      <div className="fp-page-head">
        <div>
          <h1>{group.name}</h1>
          <p className="fp-page-sub">
            {group.description ?? "Agent group"} · {group.agents} agents ·{" "}
            <a href={`/o/${orgSlug}/groups`}>all groups</a>
          </p>
        </div>
      </div>
      <div className="fp-stack">
        <RolloutPanel orgSlug={orgSlug} groupId={group.id} canWrite={access.can("groups.write")} />
        <GroupConfigEditor
          key={group.currentRevision}
          orgSlug={orgSlug}
          group={group}
          canWrite={access.can("groups.write")}
          help={AGENT_CONFIG_HELP}
        />
      </div>
    </>
  );
}
