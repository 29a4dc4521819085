import { L4_FILTER_COLUMNS } from "@flowplane/query";
import { EmptyState } from "@flowplane/ui";
import type { Metadata } from "next";
import { Suspense } from "react";
import { FlowsView } from "../../../../analysis/FlowsView.tsx";
import { pageAccess } from "../../../../server/page-access.ts";

export const metadata: Metadata = { title: "Flow logs" };

export default async function Page({ params }: { params: Promise<{ orgSlug: string }> }) {
  const { orgSlug } = await params;
  const access = await pageAccess(orgSlug);
  return (
    <>
      <div className="fp-page-head">
        <div>
          <h1>Flow logs</h1>
          <p className="fp-page-sub">
            Every L4 flow the agents reported: filter, sort, open one to see the requests it carried.
          </p>
        </div>
      </div>
      {access.can("telemetry.read") ? (
        <Suspense>
          <FlowsView orgSlug={orgSlug} filterColumns={filterColumns(L4_FILTER_COLUMNS)} />
        </Suspense>
      ) : (
        <EmptyState title="Not available to your role">
          Telemetry needs the telemetry.read permission.
        </EmptyState>
      )}
    </>
  );
}

function filterColumns(spec: Readonly<Record<string, { label: string; type: string }>>) {
  return Object.entries(spec).map(([id, c]) => ({ id, label: c.label, type: c.type }));
}
