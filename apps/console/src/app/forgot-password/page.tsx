import type { Metadata } from "next";
import { AuthBox } from "../../components/AuthBox.tsx";
import { ForgotPasswordForm } from "../../components/PasswordResetForms.tsx";

export const metadata: Metadata = { title: "Reset your password" };

export default function ForgotPasswordPage() {
  return (
    <AuthBox title="Reset your password" sub="We send a one-time link to the account's email.">
      <ForgotPasswordForm />
      <p className="fp-hint" style={{ marginTop: 12 }}>
        <a href="/signin">Back to sign-in</a>
      </p>
    </AuthBox>
  );
}
