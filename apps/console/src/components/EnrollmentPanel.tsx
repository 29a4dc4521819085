"use client";

import { Button, Card, DataTable, EmptyState, Field, SecretBox } from "@flowplane/ui";
import { useMutation } from "@tanstack/react-query";
import type { inferRouterOutputs } from "@trpc/server";
import type { FormEvent } from "react";
import type { AppRouter } from "../server/routers/_app.ts";
import { useTRPC } from "../trpc/react.tsx";
import { ErrorAlert } from "./ErrorAlert.tsx";
import { useRefresh } from "./useRefreshMutation.ts";

type Out = inferRouterOutputs<AppRouter>;

export function EnrollmentPanel({
  orgSlug,
  tokens,
  groups,
  canWrite,
}: {
  orgSlug: string;
  tokens: Out["enrollment"]["list"];
  groups: Out["groups"]["list"];
  canWrite: boolean;
}) {
  const trpc = useTRPC();
  const { refresh } = useRefresh();
  const create = useMutation(trpc.enrollment.create.mutationOptions({ onSuccess: refresh }));
  const revoke = useMutation(trpc.enrollment.revoke.mutationOptions({ onSuccess: refresh }));
  function onCreate(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const maxUses = Number(form.get("maxUses") || 0);
    create.mutate({
      orgSlug,
      groupId: String(form.get("groupId") ?? ""),
      name: String(form.get("name") ?? ""),
      expiresInHours: Number(form.get("hours") || 24),
      ...(maxUses > 0 ? { maxUses } : {}),
    });
  }
  return (
    <div className="fp-stack">
      {canWrite && (
        <Card title="New enrolment token">
          {groups.length === 0 ? (
            <EmptyState title="Create a group first">
              Tokens enrol agents into a group. <a href={`/o/${orgSlug}/groups`}>Agent groups</a>
            </EmptyState>
          ) : (
            <form className="fp-form-inline" onSubmit={onCreate} noValidate>
              <Field id="tok-name" label="Name">
                <input id="tok-name" name="name" className="fp-input" placeholder="lab-hosts" required />
              </Field>
              <Field id="tok-group" label="Group">
                <select id="tok-group" name="groupId" className="fp-input">
                  {groups.map((g) => (
                    <option key={g.id} value={g.id}>
                      {g.name}
                    </option>
                  ))}
                </select>
              </Field>
              <Field id="tok-hours" label="Valid for (hours)">
                <input
                  id="tok-hours"
                  name="hours"
                  type="number"
                  min={1}
                  max={8760}
                  defaultValue={24}
                  className="fp-input"
                />
              </Field>
              <Field id="tok-uses" label="Max uses (empty: unlimited)">
                <input id="tok-uses" name="maxUses" type="number" min={1} className="fp-input" />
              </Field>
              <Button type="submit" disabled={create.isPending}>
                Create token
              </Button>
            </form>
          )}
          <ErrorAlert error={create.error} />
          {create.data && (
            <SecretBox
              label="Run this on the host (shown once; replace the interface if needed)"
              value={create.data.command}
              note={`Token ${create.data.prefix}… valid until ${new Date(create.data.expiresAt).toLocaleString()}.`}
            />
          )}
        </Card>
      )}
      <Card title="Tokens">
        <ErrorAlert error={revoke.error} />
        <DataTable
          caption="Enrolment tokens"
          columns={[
            { id: "name", header: "Name" },
            { id: "prefix", header: "Prefix", kind: "mono" },
            { id: "groupName", header: "Group" },
            { id: "status", header: "Status" },
            { id: "uses", header: "Uses", kind: "number" },
            { id: "expiresAt", header: "Expires", kind: "relative" },
          ]}
          rows={tokens}
          empty={<EmptyState title="No enrolment tokens">Create one to let agents join a group.</EmptyState>}
        />
        {canWrite && (
          <div className="fp-actions" style={{ marginTop: 8 }}>
            {tokens
              .filter((t) => t.status === "active")
              .map((t) => (
                <Button
                  key={t.id}
                  variant="secondary"
                  onClick={() => revoke.mutate({ orgSlug, tokenId: t.id })}
                >
                  Revoke {t.name}
                </Button>
              ))}
          </div>
        )}
      </Card>
    </div>
  );
}
