import type { Metadata } from "next";
import { TelemetryPage } from "../../../../analysis/TelemetryPage.tsx";
import { TopologyView } from "../../../../analysis/TopologyView.tsx";

export const metadata: Metadata = { title: "Topology" };

export default async function Page({ params }: { params: Promise<{ orgSlug: string }> }) {
  const { orgSlug } = await params;
  return (
    <TelemetryPage
      orgSlug={orgSlug}
      title="Topology"
      sub="Who talks to whom: request rate, error %, p95 latency, bytes and retransmissions per edge."
    >
      <TopologyView orgSlug={orgSlug} />
    </TelemetryPage>
  );
}
