"use client";

import { Button } from "@flowplane/ui";
import { useRouter } from "next/navigation";
import { signIn } from "next-auth/react";
import { type FormEvent, useEffect, useState } from "react";

export function SignInForm({ callbackUrl, initialError }: { callbackUrl: string; initialError?: string }) {
  const router = useRouter();
  const [error, setError] = useState(initialError);
  const [pending, setPending] = useState(false);
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
      redirect: false,
    });
    if (result?.ok && !result.error) {
      router.replace(callbackUrl);
      router.refresh();
      return;
    }
    setPending(false);
    setError(
      result?.error === "CredentialsSignin"
        ? "Wrong email or password."
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
      <Button type="submit" disabled={pending || !ready}>
        {pending ? "Signing in…" : "Sign in"}
      </Button>
    </form>
  );
}
