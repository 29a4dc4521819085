import type { Metadata } from "next";
import { SettingsPanel } from "../../../../components/SettingsPanel.tsx";
import { pageAccess } from "../../../../server/page-access.ts";
import { DELETE_GRACE_DAYS } from "../../../../server/routers/org/delete.ts";

export const metadata: Metadata = { title: "Settings" };

export default async function SettingsPage({ params }: { params: Promise<{ orgSlug: string }> }) {
  const { orgSlug } = await params;
  const access = await pageAccess(orgSlug);
  return (
    <>
      <div className="fp-page-head">
        <div>
          <h1>Settings</h1>
          <p className="fp-page-sub">
            Slug <span className="fp-mono">{access.org.slug}</span> · your role {access.role}
          </p>
        </div>
      </div>
      <SettingsPanel
        org={access.org}
        canUpdate={access.can("org.update")}
        canDelete={access.can("org.delete")}
        graceDays={DELETE_GRACE_DAYS}
      />
    </>
  );
}
