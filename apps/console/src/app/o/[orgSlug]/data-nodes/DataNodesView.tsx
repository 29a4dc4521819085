"use client";

import { Badge, type BadgeTone, Card, EmptyState } from "@flowplane/ui";
import { useQuery } from "@tanstack/react-query";
import { ErrorAlert } from "../../../../components/ErrorAlert.tsx";
import { TableScroll } from "../../../../components/TableScroll.tsx";
import { useTRPC } from "../../../../trpc/react.tsx";

const HEALTH: Record<"up" | "late" | "down", { tone: BadgeTone; label: string }> = {
  up: { tone: "ok", label: "up" },
  late: { tone: "warn", label: "heartbeat late" },
  down: { tone: "bad", label: "down" },
};

function age(s: number | null): string {
  if (s === null) return "never";
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}

/** The data-node table and this org's agents per node, polled every 10 s. */
export function DataNodesView({ orgSlug }: { orgSlug: string }) {
  const trpc = useTRPC();
  const q = useQuery({ ...trpc.dataNodes.list.queryOptions({ orgSlug }), refetchInterval: 10_000 });
  if (q.isPending)
    return (
      <p className="fp-loading" role="status">
        Loading data nodes…
      </p>
    );
  if (q.isError && !q.data) return <ErrorAlert error={q.error} />;
  const { nodes, unassigned } = q.data;
  return (
    <div className="fp-stack">
      {q.isError && <ErrorAlert error={q.error} />}
      {nodes.length === 0 ? (
        <EmptyState title="No data nodes registered">
          Without data nodes, agents send telemetry to the controller they sync with. Start one with{" "}
          <code>apps/controller/src/ingest/data-node-main.ts</code>.
        </EmptyState>
      ) : (
        <TableScroll label="Data nodes">
          <table className="fp-table">
            <caption className="fp-sr-only">Data nodes</caption>
            <thead>
              <tr>
                <th scope="col">Node</th>
                <th scope="col">Health</th>
                <th scope="col">Last heartbeat</th>
                <th scope="col" className="fp-right">
                  Capacity
                </th>
                <th scope="col" className="fp-right">
                  Rows/s
                </th>
                <th scope="col" className="fp-right">
                  Load vs fair share
                </th>
                <th scope="col" className="fp-right">
                  Your agents
                </th>
              </tr>
            </thead>
            <tbody>
              {nodes.map((n) => (
                <tr key={n.id}>
                  <td className="fp-mono">{n.name}</td>
                  <td>
                    <Badge tone={HEALTH[n.health].tone}>{HEALTH[n.health].label}</Badge>
                    {n.state === "draining" && <> (draining)</>}
                  </td>
                  <td>{age(n.heartbeatAgeS)}</td>
                  <td className="fp-right">{n.capacity.toLocaleString("en-US")}</td>
                  <td className="fp-right">
                    {n.rowsPerS.toLocaleString("en-US", { maximumFractionDigits: 0 })}
                  </td>
                  <td className="fp-right">
                    {n.loadRatio === null ? "—" : `${Math.round(n.loadRatio * 100)} %`}
                  </td>
                  <td className="fp-right">{n.agents.length}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableScroll>
      )}
      <p className="fp-hint">
        Rows/s is what the node's agents (of every organization) stored over the last full minute, as the
        controller's balancer measured it; 100 % load is exactly the node's share of the fleet by capacity.
        The balancer moves agents only when a node is over 110 %.
      </p>
      {nodes
        .filter((n) => n.agents.length > 0)
        .map((n) => (
          <Card key={n.id} title={`Your agents on ${n.name}`}>
            <AgentList orgSlug={orgSlug} agents={n.agents} />
          </Card>
        ))}
      {unassigned.length > 0 && (
        <Card title="Your agents without a live data node">
          <p className="fp-hint">
            They send telemetry to the controller they sync with until the balancer assigns them a node (at
            its next run, within 30 s).
          </p>
          <AgentList orgSlug={orgSlug} agents={unassigned} />
        </Card>
      )}
    </div>
  );
}

function AgentList({
  orgSlug,
  agents,
}: {
  orgSlug: string;
  agents: { id: string; name: string; state: string }[];
}) {
  return (
    <ul className="fp-inline-list">
      {agents.map((a) => (
        <li key={a.id}>
          <a href={`/o/${orgSlug}/agents/${a.id}`}>{a.name}</a> <span className="fp-muted">{a.state}</span>
        </li>
      ))}
    </ul>
  );
}
