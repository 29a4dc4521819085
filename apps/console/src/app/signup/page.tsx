import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { AuthBox } from "../../components/AuthBox.tsx";
import { SignUpForm } from "../../components/SignUpForm.tsx";
import { currentUser } from "../../server/auth/current-user.ts";
import { safeCallback } from "../signin/safe-callback.ts";

export const metadata: Metadata = { title: "Create an account" };
export const dynamic = "force-dynamic";

export default async function SignUpPage({
  searchParams,
}: {
  searchParams: Promise<{ callbackUrl?: string }>;
}) {
  const callbackUrl = safeCallback((await searchParams).callbackUrl);
  if (await currentUser()) redirect(callbackUrl);
  return (
    <AuthBox title="Create an account" sub="Then create an organization or accept an invitation.">
      <SignUpForm callbackUrl={callbackUrl} />
      <p className="fp-hint" style={{ marginTop: 12 }}>
        Have an account? <a href={`/signin?callbackUrl=${encodeURIComponent(callbackUrl)}`}>Sign in</a>
      </p>
    </AuthBox>
  );
}
