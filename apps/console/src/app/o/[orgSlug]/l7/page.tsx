import { L7_FILTER_COLUMNS } from "@flowplane/query";
import { EmptyState } from "@flowplane/ui";
import type { Metadata } from "next";
import { Suspense } from "react";
import { L7View } from "../../../../analysis/L7View.tsx";
import { pageAccess } from "../../../../server/page-access.ts";

export const metadata: Metadata = { title: "L7 logs" };

export default async function Page({ params }: { params: Promise<{ orgSlug: string }> }) {
  const { orgSlug } = await params;
  const access = await pageAccess(orgSlug);
  return (
    <>
      <div className="fp-page-head">
        <div>
          <h1>L7 logs</h1>
          <p className="fp-page-sub">
            HTTP, DNS, SQL and other requests with status, code and latency; a row opens its trace.
          </p>
        </div>
      </div>
      {access.can("telemetry.read") ? (
        <Suspense>
          <L7View orgSlug={orgSlug} filterColumns={filterColumns(L7_FILTER_COLUMNS)} />
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
