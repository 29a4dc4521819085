import { L4_FILTER_COLUMNS } from "@flowplane/query";
import type { Metadata } from "next";
import { FlowsView } from "../../../../analysis/FlowsView.tsx";
import { builderColumns, TelemetryPage } from "../../../../analysis/TelemetryPage.tsx";

export const metadata: Metadata = { title: "Flow logs" };

export default async function Page({ params }: { params: Promise<{ orgSlug: string }> }) {
  const { orgSlug } = await params;
  return (
    <TelemetryPage
      orgSlug={orgSlug}
      title="Flow logs"
      sub="Every L4 flow the agents reported: filter, sort, open one to see the requests it carried."
    >
      <FlowsView orgSlug={orgSlug} filterColumns={builderColumns(L4_FILTER_COLUMNS)} />
    </TelemetryPage>
  );
}
