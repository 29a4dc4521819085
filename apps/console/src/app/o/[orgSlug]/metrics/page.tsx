import { METRICS_FILTER_COLUMNS, tagNames } from "@flowplane/query";
import type { Metadata } from "next";
import { MetricsView } from "../../../../analysis/MetricsView.tsx";
import { builderColumns, TelemetryPage } from "../../../../analysis/TelemetryPage.tsx";
import { pageAccess } from "../../../../server/page-access.ts";
import { analysisClickhouse } from "../../../../server/routers/analysis/shared.ts";

export const metadata: Metadata = { title: "Metrics" };

export default async function Page({ params }: { params: Promise<{ orgSlug: string }> }) {
  const { orgSlug } = await params;
  const access = await pageAccess(orgSlug);
  // Agent group names for the picker; an unreachable store only leaves the picker empty.
  const groups = access.can("telemetry.read")
    ? await tagNames(analysisClickhouse(), { orgId: access.org.id, kind: "agent_group" })
        .then((m) => [...m].map(([id, name]) => ({ id, name })))
        .catch(() => [])
    : [];
  return (
    <TelemetryPage
      orgSlug={orgSlug}
      title="Metrics"
      sub="RED per service, endpoint or resource tag, Apdex, and TCP health (RTT, retransmissions, zero windows, resets)."
    >
      <MetricsView orgSlug={orgSlug} groups={groups} filterColumns={builderColumns(METRICS_FILTER_COLUMNS)} />
    </TelemetryPage>
  );
}
