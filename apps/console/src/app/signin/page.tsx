import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { OidcSignInButton } from "../../components/OidcSignInButton.tsx";
import { SignInForm } from "../../components/SignInForm.tsx";
import { oidcSettings } from "../../env.ts";
import { currentUser } from "../../server/auth/current-user.ts";
import { safeCallback } from "./safe-callback.ts";

export const metadata: Metadata = { title: "Sign in" };
export const dynamic = "force-dynamic";

const ERRORS: Record<string, string> = {
  CredentialsSignin: "Wrong email or password.",
  SessionRequired: "Sign in to continue.",
  AccountLocked:
    "Too many failed sign-ins: this account is locked for 15 minutes. Reset your password to unlock it now.",
  OidcEmailNotVerified:
    "An account with this email exists, and your identity provider has not verified the address, so the two were not linked. Sign in with your password.",
  OidcNoEmail: "Your identity provider did not share an email address; the console needs one.",
  OAuthSignin: "Could not reach the identity provider. Try again, or sign in with your password.",
  OAuthCallback: "The identity provider's answer could not be verified. Try again.",
  OAuthAccountNotLinked: "This email is already used by another account.",
};

export default async function SignInPage({
  searchParams,
}: {
  searchParams: Promise<{ callbackUrl?: string; error?: string }>;
}) {
  const params = await searchParams;
  const callbackUrl = safeCallback(params.callbackUrl);
  if (await currentUser()) redirect(callbackUrl);
  const error = params.error ? (ERRORS[params.error] ?? "Sign-in failed. Try again.") : undefined;
  // Read per request: the provider is configured at run time, not baked into the build.
  const oidc = oidcSettings();
  return (
    <div className="fp-auth">
      <div className="fp-auth-box">
        <div className="fp-brand">
          <span className="fp-brand-mark" aria-hidden="true" />
          Flowplane
        </div>
        <h1>Sign in</h1>
        <p className="fp-page-sub" style={{ marginBottom: 16 }}>
          Network observability for your organization.
        </p>
        <SignInForm callbackUrl={callbackUrl} initialError={error} />
        {oidc && (
          <div style={{ marginTop: 12 }}>
            <p className="fp-hint" style={{ textAlign: "center", margin: "0 0 8px" }}>
              or
            </p>
            <OidcSignInButton name={oidc.name} callbackUrl={callbackUrl} />
          </div>
        )}
        <p className="fp-hint" style={{ marginTop: 12 }}>
          <a href={`/signup?callbackUrl=${encodeURIComponent(callbackUrl)}`}>Create an account</a> ·{" "}
          <a href="/forgot-password">Forgot your password?</a>
        </p>
      </div>
    </div>
  );
}
