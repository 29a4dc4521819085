import { type BuilderColumn, EmptyState } from "@flowplane/ui";
import type { ReactNode } from "react";
import { Suspense } from "react";
import { pageAccess } from "../server/page-access.ts";

/**
 * Server-side shell of an analysis page: its heading, and the view only for roles with
 * telemetry.read (Suspense because the views read their state from the URL).
 */
export async function TelemetryPage({
  orgSlug,
  title,
  sub,
  children,
}: {
  orgSlug: string;
  title: string;
  sub: string;
  children: ReactNode;
}) {
  const access = await pageAccess(orgSlug);
  return (
    <>
      <div className="fp-page-head">
        <div>
          <h1>{title}</h1>
          <p className="fp-page-sub">{sub}</p>
        </div>
      </div>
      {access.can("telemetry.read") ? (
        <Suspense>{children}</Suspense>
      ) : (
        <EmptyState title="Not available to your role">
          Telemetry needs the telemetry.read permission.
        </EmptyState>
      )}
    </>
  );
}

/**
 * A query package filter allow-list as the filter builder's columns. Tag columns take current
 * names, not ids: their labels say so ("Server VPC (tag name)"), the raw id columns stay as they are.
 */
export function builderColumns(
  spec: Readonly<Record<string, { label: string; type: string; tag?: unknown }>>,
): BuilderColumn[] {
  return Object.entries(spec).map(([id, c]) => ({
    id,
    label: c.tag === undefined || c.label.includes("key=value") ? c.label : `${c.label} (tag name)`,
    type: c.type,
  }));
}
