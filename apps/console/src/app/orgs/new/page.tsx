import type { Metadata } from "next";
import { CreateOrgForm } from "../../../components/AccountForms.tsx";
import { AuthBox } from "../../../components/AuthBox.tsx";
import { requireUser } from "../../../server/auth/current-user.ts";

export const metadata: Metadata = { title: "New organization" };
export const dynamic = "force-dynamic";

export default async function NewOrgPage() {
  await requireUser("/orgs/new");
  return (
    <AuthBox title="New organization" sub="You become its owner.">
      <CreateOrgForm />
      <p className="fp-hint" style={{ marginTop: 12 }}>
        <a href="/">Back to the console</a>
      </p>
    </AuthBox>
  );
}
