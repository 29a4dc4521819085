"use client";

import { Alert, Button, Field } from "@flowplane/ui";
import { useMutation } from "@tanstack/react-query";
import type { FormEvent } from "react";
import { useTRPC } from "../trpc/react.tsx";
import { ErrorAlert } from "./ErrorAlert.tsx";

export function ForgotPasswordForm() {
  const trpc = useTRPC();
  const request = useMutation(trpc.account.requestPasswordReset.mutationOptions());
  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    request.mutate({ email: String(new FormData(event.currentTarget).get("email") ?? "") });
  }
  if (request.data) {
    return (
      <Alert tone="ok">
        If an account exists for that address, a reset link valid for {request.data.expiresInMinutes} minutes
        is on its way (in development it is written to the console's log).
      </Alert>
    );
  }
  return (
    <form onSubmit={onSubmit} noValidate>
      <ErrorAlert error={request.error} />
      <Field id="email" label="Email">
        <input id="email" name="email" type="email" className="fp-input" autoComplete="username" required />
      </Field>
      <Button type="submit" disabled={request.isPending}>
        Send reset link
      </Button>
    </form>
  );
}

export function ResetPasswordForm({ token }: { token: string }) {
  const trpc = useTRPC();
  const reset = useMutation(trpc.account.resetPassword.mutationOptions());
  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    reset.mutate({ token, password: String(new FormData(event.currentTarget).get("password") ?? "") });
  }
  if (reset.data) {
    return (
      <Alert tone="ok">
        Password changed; every session was signed out. <a href="/signin">Sign in</a> with the new password.
      </Alert>
    );
  }
  return (
    <form onSubmit={onSubmit} noValidate>
      <ErrorAlert error={reset.error} />
      <Field id="password" label="New password" hint="At least 10 characters.">
        <input
          id="password"
          name="password"
          type="password"
          className="fp-input"
          autoComplete="new-password"
          required
        />
      </Field>
      <Button type="submit" disabled={reset.isPending}>
        Set password
      </Button>
    </form>
  );
}
