import { Card } from "@flowplane/ui";
import type { Metadata } from "next";
import { ChangePasswordForm, SignOutEverywhereButton, TotpCard } from "../../components/AccountForms.tsx";
import { AuthBox } from "../../components/AuthBox.tsx";
import { requireUser } from "../../server/auth/current-user.ts";
import { serverCaller } from "../../server/caller.ts";

export const metadata: Metadata = { title: "Your account" };
export const dynamic = "force-dynamic";

export default async function AccountPage() {
  const user = await requireUser("/account");
  const me = await (await serverCaller()).account.me();
  return (
    <AuthBox title="Your account" sub={user.email}>
      <div className="fp-stack">
        <Card title="Password">
          <ChangePasswordForm email={user.email} />
        </Card>
        <Card title="Two-factor sign-in">
          <TotpCard enabled={me.totpEnabled} />
        </Card>
        <Card title="Sessions">
          <p className="fp-hint">Ends every session of this account, in every browser, at once.</p>
          <SignOutEverywhereButton />
        </Card>
        <p className="fp-hint">
          <a href="/">Back to the console</a>
        </p>
      </div>
    </AuthBox>
  );
}
