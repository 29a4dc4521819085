import type { Metadata } from "next";
import { pageAccess } from "../../../../server/page-access.ts";
import { DataNodesView } from "./DataNodesView.tsx";

export const metadata: Metadata = { title: "Data nodes" };

export default async function DataNodesPage({ params }: { params: Promise<{ orgSlug: string }> }) {
  const { orgSlug } = await params;
  const access = await pageAccess(orgSlug);
  return (
    <>
      <div className="fp-page-head">
        <div>
          <h1>Data nodes</h1>
          <p className="fp-page-sub">
            The ingest nodes your agents send telemetry to: health, load as the controller balances it, and
            which of your agents each serves. Refreshed every 10 seconds.
          </p>
        </div>
      </div>
      {access.can("agents.read") ? (
        <DataNodesView orgSlug={orgSlug} />
      ) : (
        <div className="fp-alert fp-alert-info" role="status">
          Data nodes are not available to your role.
        </div>
      )}
    </>
  );
}
