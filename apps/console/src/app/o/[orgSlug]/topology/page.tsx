import { L4_FILTER_COLUMNS, L7_FILTER_COLUMNS } from "@flowplane/query";
import type { Metadata } from "next";
import { builderColumns, TelemetryPage } from "../../../../analysis/TelemetryPage.tsx";
import { TopologyView } from "../../../../analysis/TopologyView.tsx";

export const metadata: Metadata = { title: "Topology" };

export default async function Page({ params }: { params: Promise<{ orgSlug: string }> }) {
  const { orgSlug } = await params;
  return (
    <TelemetryPage
      orgSlug={orgSlug}
      title="Topology"
      sub="Who talks to whom, by address, agent or resource tag: request rate, error %, p95 latency, bytes and retransmissions per edge."
    >
      <TopologyView
        orgSlug={orgSlug}
        filterColumns={builderColumns({ ...L4_FILTER_COLUMNS, ...L7_FILTER_COLUMNS })}
        pageColumns={{ flows: Object.keys(L4_FILTER_COLUMNS), l7: Object.keys(L7_FILTER_COLUMNS) }}
      />
    </TelemetryPage>
  );
}
