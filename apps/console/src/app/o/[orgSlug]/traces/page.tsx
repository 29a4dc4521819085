import { EmptyState } from "@flowplane/ui";
import type { Metadata } from "next";
import { Suspense } from "react";
import { TracesView } from "../../../../analysis/TracesView.tsx";
import { pageAccess } from "../../../../server/page-access.ts";

export const metadata: Metadata = { title: "Traces" };

export default async function Page({ params }: { params: Promise<{ orgSlug: string }> }) {
  const { orgSlug } = await params;
  const access = await pageAccess(orgSlug);
  return (
    <>
      <div className="fp-page-head">
        <div>
          <h1>Traces</h1>
          <p className="fp-page-sub">
            Calls assembled across agents by trace id, X-Request-ID and TCP sequence, and where a trace
            breaks.
          </p>
        </div>
      </div>
      {access.can("telemetry.read") ? (
        <Suspense>
          <TracesView orgSlug={orgSlug} />
        </Suspense>
      ) : (
        <EmptyState title="Not available to your role">
          Telemetry needs the telemetry.read permission.
        </EmptyState>
      )}
    </>
  );
}
