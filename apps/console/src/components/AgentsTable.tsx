"use client";

import { DataTable, type DataTableColumn, EmptyState } from "@flowplane/ui";
import { useQuery } from "@tanstack/react-query";
import type { inferRouterOutputs } from "@trpc/server";
import type { AppRouter } from "../server/routers/_app.ts";
import { useTRPC } from "../trpc/react.tsx";

type AgentRow = inferRouterOutputs<AppRouter>["agents"]["list"][number];

const COLUMNS: DataTableColumn[] = [
  { id: "name", header: "Name" },
  { id: "state", header: "State", kind: "state" },
  { id: "hostname", header: "Host", kind: "mono" },
  { id: "groupName", header: "Group" },
  { id: "version", header: "Version", kind: "mono" },
  { id: "lastSeenAt", header: "Last seen", kind: "relative" },
];

export function AgentsTable({ orgSlug, initial }: { orgSlug: string; initial: AgentRow[] }) {
  const trpc = useTRPC();
  const query = useQuery({
    ...trpc.agents.list.queryOptions({ orgSlug }),
    initialData: initial,
    refetchInterval: 10_000,
  });
  return (
    <>
      {query.error && (
        <div className="fp-alert fp-alert-bad" role="alert">
          Could not refresh the agent list: {query.error.message}
        </div>
      )}
      <DataTable
        caption="Agents"
        columns={COLUMNS}
        rows={query.data}
        empty={
          <EmptyState title="No agents yet">
            Agents appear here once they enrol with a token of one of this organization's groups.
          </EmptyState>
        }
      />
    </>
  );
}
