import type { Metadata } from "next";
import { AuthBox } from "../../components/AuthBox.tsx";
import { ResetPasswordForm } from "../../components/PasswordResetForms.tsx";

export const metadata: Metadata = { title: "Choose a new password" };
export const dynamic = "force-dynamic";

export default async function ResetPasswordPage({
  searchParams,
}: {
  searchParams: Promise<{ token?: string }>;
}) {
  const { token } = await searchParams;
  return (
    <AuthBox title="Choose a new password">
      {token ? <ResetPasswordForm token={token} /> : <p>This link has no token. Ask for a new one.</p>}
    </AuthBox>
  );
}
