import { EmptyState } from "@flowplane/ui";
import type { Metadata } from "next";
import { Suspense } from "react";
import { TopologyView } from "../../../../analysis/TopologyView.tsx";
import { pageAccess } from "../../../../server/page-access.ts";

export const metadata: Metadata = { title: "Topology" };

export default async function Page({ params }: { params: Promise<{ orgSlug: string }> }) {
  const { orgSlug } = await params;
  const access = await pageAccess(orgSlug);
  return (
    <>
      <div className="fp-page-head">
        <div>
          <h1>Topology</h1>
          <p className="fp-page-sub">
            Who talks to whom: request rate, error %, p95 latency, bytes and retransmissions per edge.
          </p>
        </div>
      </div>
      {access.can("telemetry.read") ? (
        <Suspense>
          <TopologyView orgSlug={orgSlug} />
        </Suspense>
      ) : (
        <EmptyState title="Not available to your role">
          Telemetry needs the telemetry.read permission.
        </EmptyState>
      )}
    </>
  );
}
