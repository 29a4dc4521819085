"use client";

import { Button, Card, DataTable, EmptyState, Field } from "@flowplane/ui";
import { useMutation } from "@tanstack/react-query";
import type { inferRouterOutputs } from "@trpc/server";
import { useRouter } from "next/navigation";
import type { FormEvent } from "react";
import type { AppRouter } from "../server/routers/_app.ts";
import { useTRPC } from "../trpc/react.tsx";
import { ErrorAlert } from "./ErrorAlert.tsx";

type Groups = inferRouterOutputs<AppRouter>["groups"]["list"];

export function GroupsPanel({
  orgSlug,
  groups,
  canWrite,
}: {
  orgSlug: string;
  groups: Groups;
  canWrite: boolean;
}) {
  const trpc = useTRPC();
  const router = useRouter();
  const create = useMutation(
    trpc.groups.create.mutationOptions({ onSuccess: (g) => router.push(`/o/${orgSlug}/groups/${g.id}`) }),
  );
  function onCreate(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const description = String(form.get("description") ?? "").trim();
    create.mutate({ orgSlug, name: String(form.get("name") ?? ""), ...(description ? { description } : {}) });
  }
  return (
    <div className="fp-stack">
      {canWrite && (
        <Card title="New group">
          <form className="fp-form-inline" onSubmit={onCreate} noValidate>
            <Field id="group-name" label="Name">
              <input id="group-name" name="name" className="fp-input" placeholder="edge-eu" required />
            </Field>
            <Field id="group-description" label="Description">
              <input id="group-description" name="description" className="fp-input" />
            </Field>
            <Button type="submit" disabled={create.isPending}>
              Create group
            </Button>
          </form>
          <ErrorAlert error={create.error} />
        </Card>
      )}
      <Card title="Groups">
        <DataTable
          caption="Agent groups"
          columns={[
            { id: "name", header: "Name", linkKey: "href" },
            { id: "description", header: "Description" },
            { id: "currentRevision", header: "Revision", kind: "number" },
            { id: "agents", header: "Agents", kind: "number" },
            { id: "updatedAt", header: "Updated", kind: "relative" },
          ]}
          rows={groups.map((g) => ({ ...g, href: `/o/${orgSlug}/groups/${g.id}` }))}
          empty={
            <EmptyState title="No groups yet">A group holds the configuration its agents run.</EmptyState>
          }
        />
      </Card>
    </div>
  );
}
