import { EmptyState } from "@flowplane/ui";
import type { Metadata } from "next";
import { EnrollmentPanel } from "../../../../components/EnrollmentPanel.tsx";
import { orNotFound, serverCaller } from "../../../../server/caller.ts";
import { pageAccess } from "../../../../server/page-access.ts";

export const metadata: Metadata = { title: "Enrolment" };

export default async function EnrollmentPage({ params }: { params: Promise<{ orgSlug: string }> }) {
  const { orgSlug } = await params;
  const access = await pageAccess(orgSlug);
  const head = (
    <div className="fp-page-head">
      <div>
        <h1>Enrolment tokens</h1>
        <p className="fp-page-sub">A token lets new agents join one group until it expires or is revoked.</p>
      </div>
    </div>
  );
  if (!access.can("enrollment.read")) {
    return (
      <>
        {head}
        <EmptyState title="Not available to your role">
          Editors, admins and owners see enrolment tokens.
        </EmptyState>
      </>
    );
  }
  const api = await serverCaller();
  const [tokens, groups] = await Promise.all([
    orNotFound(api.enrollment.list({ orgSlug })),
    orNotFound(api.groups.list({ orgSlug })),
  ]);
  return (
    <>
      {head}
      <EnrollmentPanel
        orgSlug={orgSlug}
        tokens={tokens}
        groups={groups}
        canWrite={access.can("enrollment.write")}
      />
    </>
  );
}
