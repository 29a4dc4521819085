"use client";

import { DataTable, type DataTableColumn, EmptyState } from "@flowplane/ui";
import { useQuery } from "@tanstack/react-query";
import type { inferRouterOutputs } from "@trpc/server";
import { useState } from "react";
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
  { id: "dataNode", header: "Data node", kind: "mono" },
  { id: "lastSeenAt", header: "Last seen", kind: "relative" },
  { id: "cpu", header: "CPU %", kind: "number" },
  { id: "memMb", header: "Memory MB", kind: "number" },
  { id: "packetsPerS", header: "Packets/s", kind: "number" },
  { id: "protective", header: "Protective" },
];

type View = "active" | "all" | "archived";
const VIEWS: { id: View; label: string }[] = [
  { id: "active", label: "Active" },
  { id: "all", label: "With long-silent" },
  { id: "archived", label: "Archived" },
];

export function AgentsTable({ orgSlug, initial }: { orgSlug: string; initial: AgentRow[] }) {
  const trpc = useTRPC();
  const [view, setView] = useState<View>("active");
  const query = useQuery({
    ...trpc.agents.list.queryOptions({ orgSlug, view }),
    // The server rendered the default view; the others load on first choice.
    ...(view === "active" ? { initialData: initial } : { placeholderData: (prev?: AgentRow[]) => prev }),
    refetchInterval: 10_000,
  });
  const rows = (query.data ?? []).map((a) => ({
    ...a,
    href: `/o/${orgSlug}/agents/${a.id}`,
    cpu: a.cpuPct === null ? null : Math.round(a.cpuPct * 10) / 10,
    memMb: a.memBytes === null ? null : Math.round(a.memBytes / 1_048_576),
    protective: a.protectiveMode ? "yes" : "no",
  }));
  return (
    <>
      <fieldset className="fp-segmented" aria-label="Which agents" style={{ marginBottom: 12 }}>
        {VIEWS.map((v) => (
          <label key={v.id}>
            <input
              type="radio"
              name="agents-view"
              value={v.id}
              checked={view === v.id}
              onChange={() => setView(v.id)}
            />
            <span>{v.label}</span>
          </label>
        ))}
      </fieldset>
      <p className="fp-hint">
        {view === "active"
          ? "Agents offline for over 24 hours are hidden; the controller archives them after a longer silence (30 days by default)."
          : view === "all"
            ? "Including agents offline for over 24 hours; archived agents are under Archived."
            : "Archived after a long silence, never deleted: an archived agent that syncs again returns by itself."}
      </p>
      {query.isPending && (
        <p className="fp-loading" role="status">
          Loading agents…
        </p>
      )}
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
          query.isPending ? (
            <span />
          ) : view === "archived" ? (
            <EmptyState title="No archived agents">
              Agents silent for long are archived here, never deleted.
            </EmptyState>
          ) : (
            <EmptyState title="No agents yet">
              Agents appear here once they enrol with a token of one of this organization's groups.{" "}
              <a href={`/o/${orgSlug}/enrollment`}>Enrolment tokens</a>
            </EmptyState>
          )
        }
      />
    </>
  );
}
