import type { Metadata } from "next";
import { TelemetryPage } from "../../../../analysis/TelemetryPage.tsx";
import { TracesView } from "../../../../analysis/TracesView.tsx";

export const metadata: Metadata = { title: "Traces" };

export default async function Page({ params }: { params: Promise<{ orgSlug: string }> }) {
  const { orgSlug } = await params;
  return (
    <TelemetryPage
      orgSlug={orgSlug}
      title="Traces"
      sub="Calls assembled across agents by trace id, X-Request-ID and TCP sequence, and where a trace breaks."
    >
      <TracesView orgSlug={orgSlug} />
    </TelemetryPage>
  );
}
