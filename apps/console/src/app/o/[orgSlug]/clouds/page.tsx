import type { Metadata } from "next";
import { pageAccess } from "../../../../server/page-access.ts";
import { AddCloudAccountForm } from "./AddCloudAccountForm.tsx";
import { CloudAccountsView } from "./CloudAccountsView.tsx";

export const metadata: Metadata = { title: "Cloud accounts" };

export default async function CloudAccountsPage({ params }: { params: Promise<{ orgSlug: string }> }) {
  const { orgSlug } = await params;
  const access = await pageAccess(orgSlug);
  return (
    <>
      <div className="fp-page-head">
        <div>
          <h1>Cloud accounts</h1>
          <p className="fp-page-sub">
            The sources Flowplane learns your resources from (AWS accounts, Kubernetes clusters, your agents'
            hosts, manual imports) to tag every flow with them: sync status, resources and their history.
            Refreshed every 30 seconds.
          </p>
        </div>
      </div>
      {access.can("cloud.read") ? (
        <div className="fp-stack">
          <CloudAccountsView orgSlug={orgSlug} canWrite={access.can("cloud.write")} />
          {access.can("cloud.write") && <AddCloudAccountForm orgSlug={orgSlug} />}
        </div>
      ) : (
        <div className="fp-alert fp-alert-info" role="status">
          Cloud accounts are not available to your role.
        </div>
      )}
    </>
  );
}
