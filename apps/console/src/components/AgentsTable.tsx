"use client";

import { DataTable, type DataTableColumn, EmptyState } from "@flowplane/ui";
import { useQuery } from "@tanstack/react-query";
import type { inferRouterOutputs } from "@trpc/server";
import type { AppRouter } from "../server/routers/_app.ts";
import { useTRPC } from "../trpc/react.tsx";

type AgentRow = inferRouterOutputs<AppRouter>["agents"]["list"][number];

const COLUMNS: DataTableColumn[] = [
  { id: "name", header: "Name", linkKey: "href" },
  { id: "state", header: "Status", kind: "state" },
  { id: "version", header: "Version", kind: "mono" },
  { id: "hostname", header: "Host", kind: "mono" },
  { id: "ips", header: "IPs", kind: "mono" },
  { id: "groupName", header: "Group" },
  { id: "lastSeenAt", header: "Last seen", kind: "relative" },
  { id: "cpu", header: "CPU %", kind: "number" },
  { id: "memMb", header: "Memory MB", kind: "number" },
  { id: "packetsPerS", header: "Packets/s", kind: "number" },
  { id: "protective", header: "Protective" },
];

export function AgentsTable({ orgSlug, initial }: { orgSlug: string; initial: AgentRow[] }) {
  const trpc = useTRPC();
  const query = useQuery({
    ...trpc.agents.list.queryOptions({ orgSlug }),
    initialData: initial,
    refetchInterval: 10_000,
  });
  const rows = query.data.map((a) => ({
    ...a,
    href: `/o/${orgSlug}/agents/${a.id}`,
    cpu: a.cpuPct === null ? null : Math.round(a.cpuPct * 10) / 10,
    memMb: a.memBytes === null ? null : Math.round(a.memBytes / 1_048_576),
    protective: a.protectiveMode ? "yes" : "no",
  }));
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
        rows={rows}
        empty={
          <EmptyState title="No agents yet">
            Agents appear here once they enrol with a token of one of this organization's groups.{" "}
            <a href={`/o/${orgSlug}/enrollment`}>Enrolment tokens</a>
          </EmptyState>
        }
      />
    </>
  );
}
