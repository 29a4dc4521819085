"use client";

import { Button } from "@flowplane/ui";
import { useRouter } from "next/navigation";
import { signIn } from "next-auth/react";
import { type FormEvent, useEffect, useState } from "react";

export function SignInForm({ callbackUrl, initialError }: { callbackUrl: string; initialError?: string }) {
  const router = useRouter();
  const [error, setError] = useState(initialError);
  const [pending, setPending] = useState(false);
  // Shown once the server says the account has a second factor.
  const [needCode, setNeedCode] = useState(false);
  // Until hydrated the submit button stays off: a native submit would send the password nowhere useful.
  const [ready, setReady] = useState(false);
  useEffect(() => setReady(true), []);

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setPending(true);
    setError(undefined);
    const result = await signIn("credentials", {
      email: String(form.get("email") ?? ""),
      password: String(form.get("password") ?? ""),
      ...(needCode ? { code: String(form.get("code") ?? "") } : {}),
      redirect: false,
    });
    if (result?.ok && !result.error) {
      router.replace(callbackUrl);
      router.refresh();
      return;
    }
    setPending(false);
    if (result?.error === "TotpRequired") {
      setNeedCode(true);
      setError("Enter the 6-digit code from your authenticator app.");
      return;
    }
    setError(
      result?.error === "CredentialsSignin"
        ? "Wrong email or password."
        : result?.error === "TotpInvalid"
          ? "That code is not right. Try the next one from your app."
          : result?.error === "AccountLocked"
            ? "Too many failed sign-ins: this account is locked for 15 minutes. Reset your password to unlock it now."
            : "Sign-in failed. Try again.",
    );
  }

  return (
    <form method="post" onSubmit={onSubmit} noValidate aria-describedby={error ? "signin-error" : undefined}>
      {error && (
        <div id="signin-error" className="fp-alert fp-alert-bad" role="alert">
          {error}
        </div>
      )}
      <div className="fp-field">
        <label htmlFor="email">Email</label>
        <input id="email" name="email" type="email" className="fp-input" autoComplete="username" required />
      </div>
      <div className="fp-field">
        <label htmlFor="password">Password</label>
        <input
          id="password"
          name="password"
          type="password"
          className="fp-input"
          autoComplete="current-password"
          required
        />
      </div>
      {needCode && (
        <div className="fp-field">
          <label htmlFor="code">Authentication code</label>
          <input
            id="code"
            name="code"
            className="fp-input"
            inputMode="numeric"
            autoComplete="one-time-code"
            pattern="[0-9]{6}"
            // biome-ignore lint/a11y/noAutofocus: the field appears because the user must fill it next
            autoFocus
            required
          />
        </div>
      )}
      <Button type="submit" disabled={pending || !ready}>
        {pending ? "Signing in…" : "Sign in"}
      </Button>
    </form>
  );
}
