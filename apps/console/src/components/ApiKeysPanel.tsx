"use client";

import { Button, Card, DataTable, EmptyState, Field, SecretBox } from "@flowplane/ui";
import { useMutation } from "@tanstack/react-query";
import type { inferRouterOutputs } from "@trpc/server";
import type { FormEvent } from "react";
import type { AppRouter } from "../server/routers/_app.ts";
import { useTRPC } from "../trpc/react.tsx";
import { ErrorAlert } from "./ErrorAlert.tsx";
import { useRefresh } from "./useRefreshMutation.ts";

type Keys = inferRouterOutputs<AppRouter>["apiKeys"]["list"];
type Role = "owner" | "admin" | "editor" | "viewer";

export function ApiKeysPanel({
  orgSlug,
  keys,
  canWrite,
  grantable,
}: {
  orgSlug: string;
  keys: Keys;
  canWrite: boolean;
  grantable: Role[];
}) {
  const trpc = useTRPC();
  const { refresh } = useRefresh();
  const create = useMutation(trpc.apiKeys.create.mutationOptions({ onSuccess: refresh }));
  const revoke = useMutation(trpc.apiKeys.revoke.mutationOptions({ onSuccess: refresh }));
  function onCreate(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const days = Number(form.get("days") || 0);
    create.mutate({
      orgSlug,
      name: String(form.get("name") ?? ""),
      role: String(form.get("role")) as Role,
      ...(days > 0 ? { expiresInDays: days } : {}),
    });
  }
  return (
    <div className="fp-stack">
      {canWrite && (
        <Card title="Create a key">
          <form className="fp-form-inline" onSubmit={onCreate} noValidate>
            <Field id="key-name" label="Name">
              <input id="key-name" name="name" className="fp-input" placeholder="ci-deploy" required />
            </Field>
            <Field id="key-role" label="Role">
              <select id="key-role" name="role" className="fp-input" defaultValue="viewer">
                {grantable.map((r) => (
                  <option key={r} value={r}>
                    {r}
                  </option>
                ))}
              </select>
            </Field>
            <Field id="key-days" label="Expires in days (empty: never)">
              <input id="key-days" name="days" type="number" min={1} max={3650} className="fp-input" />
            </Field>
            <Button type="submit" disabled={create.isPending}>
              Create key
            </Button>
          </form>
          <ErrorAlert error={create.error} />
          {create.data && (
            <SecretBox
              label={`API key ${create.data.name} (${create.data.role})`}
              value={create.data.token}
              note="Shown once: store it now. Use it as Authorization: Bearer <key> (see docs/api.md)."
            />
          )}
        </Card>
      )}
      <Card title="Keys">
        <ErrorAlert error={revoke.error} />
        <DataTable
          caption="API keys"
          columns={[
            { id: "name", header: "Name" },
            { id: "prefix", header: "Prefix", kind: "mono" },
            { id: "role", header: "Role" },
            { id: "createdAt", header: "Created", kind: "relative" },
            { id: "lastUsedAt", header: "Last used", kind: "relative" },
            { id: "status", header: "Status" },
          ]}
          rows={keys.map((k) => ({ ...k, status: k.revokedAt ? "revoked" : "active" }))}
          empty={
            <EmptyState title="No API keys yet">Keys let scripts call the same API with a role.</EmptyState>
          }
        />
        {canWrite && keys.some((k) => !k.revokedAt) && (
          <div className="fp-actions" style={{ marginTop: 8 }}>
            {keys
              .filter((k) => !k.revokedAt)
              .map((k) => (
                <Button
                  key={k.id}
                  variant="secondary"
                  onClick={() => {
                    if (window.confirm(`Revoke ${k.name}? Scripts using it stop working at once.`))
                      revoke.mutate({ orgSlug, keyId: k.id });
                  }}
                >
                  Revoke {k.name}
                </Button>
              ))}
          </div>
        )}
      </Card>
    </div>
  );
}
