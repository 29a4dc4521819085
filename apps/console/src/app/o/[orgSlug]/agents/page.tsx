import type { Metadata } from "next";
import { AgentsTable } from "../../../../components/AgentsTable.tsx";
import { orNotFound, serverCaller } from "../../../../server/caller.ts";

export const metadata: Metadata = { title: "Agents" };

export default async function AgentsPage({ params }: { params: Promise<{ orgSlug: string }> }) {
  const { orgSlug } = await params;
  // Rendered on the server first; the client table then refreshes through /api/trpc.
  const agents = await orNotFound((await serverCaller()).agents.list({ orgSlug }));
  return (
    <>
      <div className="fp-page-head">
        <div>
          <h1>Agents</h1>
          <p className="fp-page-sub">
            Every agent enrolled in this organization, refreshed every 10 seconds.
          </p>
        </div>
      </div>
      <AgentsTable orgSlug={orgSlug} initial={agents} />
    </>
  );
}
