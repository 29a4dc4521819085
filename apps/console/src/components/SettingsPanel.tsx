"use client";

import { Alert, Button, Card, Field } from "@flowplane/ui";
import { useMutation } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { type FormEvent, useState } from "react";
import { useTRPC } from "../trpc/react.tsx";
import { ErrorAlert } from "./ErrorAlert.tsx";
import { useRefresh } from "./useRefreshMutation.ts";

export function SettingsPanel({
  org,
  canUpdate,
  canDelete,
  graceDays,
}: {
  org: { name: string; slug: string };
  canUpdate: boolean;
  canDelete: boolean;
  graceDays: number;
}) {
  const trpc = useTRPC();
  const router = useRouter();
  const { refresh } = useRefresh();
  const [confirm, setConfirm] = useState("");
  const rename = useMutation(trpc.org.rename.mutationOptions({ onSuccess: refresh }));
  const del = useMutation(
    trpc.org.delete.mutationOptions({
      onSuccess: () => {
        router.replace("/");
        router.refresh();
      },
    }),
  );
  function onRename(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    rename.mutate({ orgSlug: org.slug, name: String(new FormData(event.currentTarget).get("name") ?? "") });
  }
  return (
    <div className="fp-stack">
      <Card title="Name">
        {canUpdate ? (
          <form className="fp-form-inline" onSubmit={onRename} noValidate>
            <Field id="org-name" label="Organization name">
              <input id="org-name" name="name" className="fp-input" defaultValue={org.name} required />
            </Field>
            <Button type="submit" disabled={rename.isPending}>
              Rename
            </Button>
          </form>
        ) : (
          <p>
            {org.name} <span className="fp-hint">(owners and admins can rename it)</span>
          </p>
        )}
        {rename.isSuccess && <Alert tone="ok">Renamed.</Alert>}
        <ErrorAlert error={rename.error} />
      </Card>
      {canDelete && (
        <Card title="Export">
          <p>
            Groups with every configuration revision, members, API keys and enrolment tokens (no secrets), as
            JSON.
          </p>
          <a className="fp-btn fp-btn-secondary" href={`/o/${org.slug}/export`} download>
            Download configuration
          </a>
        </Card>
      )}
      {canDelete && (
        <Card title="Delete organization">
          <p>
            The organization disappears for everyone at once; its data is purged after {graceDays} days. Type{" "}
            <strong className="fp-mono">{org.slug}</strong> to confirm.
          </p>
          <div className="fp-form-inline">
            <Field id="confirm-slug" label="Slug">
              <input
                id="confirm-slug"
                className="fp-input"
                value={confirm}
                onChange={(e) => setConfirm(e.target.value)}
                autoComplete="off"
              />
            </Field>
            <Button
              variant="secondary"
              disabled={confirm !== org.slug || del.isPending}
              onClick={() => del.mutate({ orgSlug: org.slug, confirmSlug: confirm })}
            >
              Delete organization
            </Button>
          </div>
          <ErrorAlert error={del.error} />
        </Card>
      )}
    </div>
  );
}
