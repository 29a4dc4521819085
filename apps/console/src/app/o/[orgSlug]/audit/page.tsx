import { EmptyState } from "@flowplane/ui";
import type { Metadata } from "next";
import { AuditTable } from "../../../../components/AuditTable.tsx";
import { pageAccess } from "../../../../server/page-access.ts";

export const metadata: Metadata = { title: "Audit log" };

export default async function AuditPage({ params }: { params: Promise<{ orgSlug: string }> }) {
  const { orgSlug } = await params;
  const access = await pageAccess(orgSlug);
  return (
    <>
      <div className="fp-page-head">
        <div>
          <h1>Audit log</h1>
          <p className="fp-page-sub">Every change in this organization: who, what, when, before and after.</p>
        </div>
      </div>
      {access.can("audit.read") ? (
        <AuditTable orgSlug={orgSlug} />
      ) : (
        <EmptyState title="Not available to your role">Owners and admins can read the audit log.</EmptyState>
      )}
    </>
  );
}
