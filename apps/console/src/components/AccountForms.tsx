"use client";

import { Alert, Button, Field, SecretBox } from "@flowplane/ui";
import { useMutation } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { signIn, signOut } from "next-auth/react";
import { type FormEvent, useState } from "react";
import { useTRPC } from "../trpc/react.tsx";
import { ErrorAlert } from "./ErrorAlert.tsx";
import { orgSlug as slugOf } from "./slug.ts";

/** Changing the password ends every session, this one too: sign in again with the new one. */
export function ChangePasswordForm({ email }: { email: string }) {
  const trpc = useTRPC();
  const [done, setDone] = useState(false);
  const change = useMutation(trpc.account.changePassword.mutationOptions());
  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const newPassword = String(form.get("newPassword") ?? "");
    try {
      await change.mutateAsync({ currentPassword: String(form.get("currentPassword") ?? ""), newPassword });
    } catch {
      return;
    }
    await signIn("credentials", { email, password: newPassword, redirect: false });
    setDone(true);
  }
  return (
    <form onSubmit={onSubmit} noValidate>
      {done && <Alert tone="ok">Password changed. Every other session was signed out.</Alert>}
      <ErrorAlert error={change.error} />
      <Field id="currentPassword" label="Current password">
        <input
          id="currentPassword"
          name="currentPassword"
          type="password"
          className="fp-input"
          autoComplete="current-password"
        />
      </Field>
      <Field id="newPassword" label="New password" hint="At least 10 characters.">
        <input
          id="newPassword"
          name="newPassword"
          type="password"
          className="fp-input"
          autoComplete="new-password"
        />
      </Field>
      <Button type="submit" disabled={change.isPending}>
        Change password
      </Button>
    </form>
  );
}

export function SignOutEverywhereButton() {
  const trpc = useTRPC();
  const out = useMutation(
    trpc.account.signOutEverywhere.mutationOptions({ onSuccess: () => signOut({ callbackUrl: "/signin" }) }),
  );
  return (
    <>
      <ErrorAlert error={out.error} />
      <Button variant="secondary" onClick={() => out.mutate()} disabled={out.isPending}>
        Sign out everywhere
      </Button>
    </>
  );
}

export function CreateOrgForm() {
  const trpc = useTRPC();
  const router = useRouter();
  const [slug, setSlug] = useState("");
  const [slugTouched, setSlugTouched] = useState(false);
  const create = useMutation(
    trpc.org.create.mutationOptions({
      onSuccess: (org) => {
        router.push(`/o/${org.slug}`);
        router.refresh();
      },
    }),
  );
  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    create.mutate({ name: String(form.get("name") ?? ""), slug: String(form.get("slug") ?? "") });
  }
  return (
    <form onSubmit={onSubmit} noValidate>
      <ErrorAlert error={create.error} />
      <Field id="org-name" label="Name">
        <input
          id="org-name"
          name="name"
          className="fp-input"
          required
          onChange={(e) => {
            if (!slugTouched) setSlug(slugOf(e.target.value));
          }}
        />
      </Field>
      <Field id="org-slug" label="Slug" hint="Used in URLs and by scripts; cannot be changed later.">
        <input
          id="org-slug"
          name="slug"
          className="fp-input"
          value={slug}
          aria-describedby="org-slug-hint"
          onChange={(e) => {
            setSlugTouched(true);
            setSlug(e.target.value);
          }}
          required
        />
      </Field>
      <Button type="submit" disabled={create.isPending}>
        {create.isPending ? "Creating…" : "Create organization"}
      </Button>
    </form>
  );
}

/** Turn TOTP on (secret + otpauth URI, confirmed by a code) or off (with the password). */
export function TotpCard({ enabled }: { enabled: boolean }) {
  const trpc = useTRPC();
  const router = useRouter();
  const begin = useMutation(trpc.account.totpBegin.mutationOptions());
  const confirm = useMutation(
    trpc.account.totpConfirm.mutationOptions({ onSuccess: () => router.refresh() }),
  );
  const disable = useMutation(
    trpc.account.totpDisable.mutationOptions({ onSuccess: () => router.refresh() }),
  );
  if (enabled) {
    return (
      <form
        onSubmit={(e) => {
          e.preventDefault();
          disable.mutate({ password: String(new FormData(e.currentTarget).get("password") ?? "") });
        }}
        noValidate
      >
        <Alert tone="ok">Two-factor sign-in is on: signing in asks for a code from your app.</Alert>
        <ErrorAlert error={disable.error} />
        <Field id="totp-off-password" label="Password (to turn it off)">
          <input
            id="totp-off-password"
            name="password"
            type="password"
            className="fp-input"
            autoComplete="current-password"
          />
        </Field>
        <Button type="submit" variant="secondary" disabled={disable.isPending}>
          Turn off two-factor sign-in
        </Button>
      </form>
    );
  }
  return (
    <div>
      <p className="fp-hint">Sign-in will also ask for a 6-digit code from an authenticator app (TOTP).</p>
      <ErrorAlert error={begin.error} />
      {!begin.data ? (
        <Button variant="secondary" onClick={() => begin.mutate()} disabled={begin.isPending}>
          Set up two-factor sign-in
        </Button>
      ) : (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            confirm.mutate({ code: String(new FormData(e.currentTarget).get("code") ?? "") });
          }}
          noValidate
        >
          <SecretBox
            label="Add this key to your app (or open the otpauth link)"
            value={begin.data.secret}
            note={begin.data.uri}
          />
          <ErrorAlert error={confirm.error} />
          <Field id="totp-code" label="Code from the app">
            <input
              id="totp-code"
              name="code"
              className="fp-input"
              inputMode="numeric"
              autoComplete="one-time-code"
            />
          </Field>
          <Button type="submit" disabled={confirm.isPending}>
            Turn on
          </Button>
        </form>
      )}
    </div>
  );
}
