import { L7_FILTER_COLUMNS } from "@flowplane/query";
import type { Metadata } from "next";
import { L7View } from "../../../../analysis/L7View.tsx";
import { builderColumns, TelemetryPage } from "../../../../analysis/TelemetryPage.tsx";

export const metadata: Metadata = { title: "L7 logs" };

export default async function Page({ params }: { params: Promise<{ orgSlug: string }> }) {
  const { orgSlug } = await params;
  return (
    <TelemetryPage
      orgSlug={orgSlug}
      title="L7 logs"
      sub="HTTP, DNS, SQL and other requests with status, code and latency; a row opens its trace."
    >
      <L7View orgSlug={orgSlug} filterColumns={builderColumns(L7_FILTER_COLUMNS)} />
    </TelemetryPage>
  );
}
