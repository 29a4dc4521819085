import { ROLES, roleAtLeast } from "@flowplane/db";
import { EmptyState } from "@flowplane/ui";
import type { Metadata } from "next";
import { ApiKeysPanel } from "../../../../components/ApiKeysPanel.tsx";
import { orNotFound, serverCaller } from "../../../../server/caller.ts";
import { pageAccess } from "../../../../server/page-access.ts";

export const metadata: Metadata = { title: "API keys" };

export default async function ApiKeysPage({ params }: { params: Promise<{ orgSlug: string }> }) {
  const { orgSlug } = await params;
  const access = await pageAccess(orgSlug);
  if (!access.can("apikeys.read")) {
    return (
      <>
        <div className="fp-page-head">
          <div>
            <h1>API keys</h1>
          </div>
        </div>
        <EmptyState title="Not available to your role">Owners and admins manage API keys.</EmptyState>
      </>
    );
  }
  const keys = await orNotFound((await serverCaller()).apiKeys.list({ orgSlug }));
  return (
    <>
      <div className="fp-page-head">
        <div>
          <h1>API keys</h1>
          <p className="fp-page-sub">
            Keys act with their role in this organization only. Examples:{" "}
            <span className="fp-mono">docs/api.md</span>.
          </p>
        </div>
      </div>
      <ApiKeysPanel
        orgSlug={orgSlug}
        keys={keys}
        canWrite={access.can("apikeys.write")}
        grantable={ROLES.filter((r) => roleAtLeast(access.role, r))}
      />
    </>
  );
}
