"use client";

import { Button, Field } from "@flowplane/ui";
import { useMutation } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { signIn } from "next-auth/react";
import { type FormEvent, useState } from "react";
import { useTRPC } from "../trpc/react.tsx";
import { ErrorAlert } from "./ErrorAlert.tsx";

export function SignUpForm({ callbackUrl }: { callbackUrl: string }) {
  const trpc = useTRPC();
  const router = useRouter();
  const [signInError, setSignInError] = useState<string>();
  const signUp = useMutation(trpc.account.signUp.mutationOptions());

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const email = String(form.get("email") ?? "");
    const password = String(form.get("password") ?? "");
    const name = String(form.get("name") ?? "").trim();
    try {
      await signUp.mutateAsync({ email, password, ...(name ? { name } : {}) });
    } catch {
      return; // shown by ErrorAlert from the mutation state
    }
    const result = await signIn("credentials", { email, password, redirect: false });
    if (result?.ok && !result.error) {
      router.replace(callbackUrl);
      router.refresh();
    } else setSignInError("Your account exists, but signing in failed. Try the sign-in page.");
  }

  return (
    <form onSubmit={onSubmit} noValidate>
      <ErrorAlert error={signUp.error ?? (signInError ? { message: signInError } : null)} />
      <Field id="name" label="Name (optional)">
        <input id="name" name="name" className="fp-input" autoComplete="name" />
      </Field>
      <Field id="email" label="Email">
        <input id="email" name="email" type="email" className="fp-input" autoComplete="username" required />
      </Field>
      <Field id="password" label="Password" hint="At least 10 characters.">
        <input
          id="password"
          name="password"
          type="password"
          className="fp-input"
          autoComplete="new-password"
          aria-describedby="password-hint"
          required
        />
      </Field>
      <Button type="submit" disabled={signUp.isPending}>
        {signUp.isPending ? "Creating account…" : "Create account"}
      </Button>
    </form>
  );
}
