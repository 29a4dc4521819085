"use client";

import { Badge, type BadgeTone, Button, Card, EmptyState } from "@flowplane/ui";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { ErrorAlert } from "../../../../components/ErrorAlert.tsx";
import { TableScroll } from "../../../../components/TableScroll.tsx";
import { useTRPC } from "../../../../trpc/react.tsx";
import { EditCloudAccountForm } from "./EditCloudAccountForm.tsx";

const KIND: Record<string, string> = {
  aws: "AWS",
  kubernetes: "Kubernetes",
  manual: "Manual import",
  agents: "Agent hosts",
};
const STATUS: Record<"never" | "ok" | "failing", { tone: BadgeTone; label: string }> = {
  never: { tone: "neutral", label: "not synced yet" },
  ok: { tone: "ok", label: "synced" },
  failing: { tone: "bad", label: "last sync failed" },
};
const ACTION: Record<"created" | "updated" | "deleted", BadgeTone> = {
  created: "ok",
  updated: "info",
  deleted: "warn",
};

// Dates arrive as ISO strings (no tRPC transformer); the title keeps the exact instant.
function When({ at }: { at: string | Date | null }) {
  if (!at) return <span className="fp-muted">never</span>;
  const d = new Date(at);
  return <time dateTime={d.toISOString()}>{d.toLocaleString()}</time>;
}

function resourceSummary(resources: Record<string, number>): string {
  const parts = Object.entries(resources)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([kind, n]) => `${n.toLocaleString("en-US")} ${kind.replaceAll("_", " ")}`);
  return parts.length ? parts.join(", ") : "none yet";
}

/** Accounts with sync status and resource counts, then the model's recent changes; polled. */
export function CloudAccountsView({ orgSlug, canWrite = false }: { orgSlug: string; canWrite?: boolean }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const remove = useMutation(
    trpc.clouds.remove.mutationOptions({
      onSuccess: () => queryClient.invalidateQueries(trpc.clouds.pathFilter()),
    }),
  );
  const syncNow = useMutation(
    trpc.clouds.syncNow.mutationOptions({
      // The job usually ends within seconds: look again then rather than at the next 30 s poll.
      onSuccess: () => setTimeout(() => void queryClient.invalidateQueries(trpc.clouds.pathFilter()), 5_000),
    }),
  );
  const [accountId, setAccountId] = useState<string | undefined>(undefined);
  const [editing, setEditing] = useState<string | undefined>(undefined);
  const accounts = useQuery({ ...trpc.clouds.list.queryOptions({ orgSlug }), refetchInterval: 30_000 });
  const history = useQuery({
    ...trpc.clouds.history.queryOptions({ orgSlug, limit: 100, ...(accountId ? { accountId } : {}) }),
    refetchInterval: 30_000,
  });
  if (accounts.isPending)
    return (
      <p className="fp-loading" role="status">
        Loading cloud accounts…
      </p>
    );
  if (accounts.isError && !accounts.data) return <ErrorAlert error={accounts.error} />;
  const list = accounts.data.accounts;
  if (list.length === 0)
    return (
      <EmptyState title="No cloud accounts yet">
        {canWrite ? "Add one below. " : "An admin of this organization can add them. "}An account of kind{" "}
        <code>agents</code> needs no credentials and tags flows with your agents' hosts.
      </EmptyState>
    );
  const names = new Map(list.map((a) => [a.id, a.name]));
  return (
    <div className="fp-stack">
      {accounts.isError && <ErrorAlert error={accounts.error} />}
      <ErrorAlert error={remove.error} />
      <ErrorAlert error={syncNow.error} />
      {syncNow.data && !syncNow.isPending && !syncNow.error && (
        <div className="fp-alert fp-alert-info" role="status">
          Sync of {names.get(syncNow.data.id) ?? "the account"} queued: its status updates here when it ends.
        </div>
      )}
      <TableScroll label="Cloud accounts">
        <table className="fp-table">
          <caption className="fp-sr-only">Cloud accounts</caption>
          <thead>
            <tr>
              <th scope="col">Account</th>
              <th scope="col">Kind</th>
              <th scope="col">Status</th>
              <th scope="col">Last successful sync</th>
              <th scope="col">Resources</th>
              <th scope="col">History</th>
              {canWrite && (
                <th scope="col">
                  <span className="fp-sr-only">Actions</span>
                </th>
              )}
            </tr>
          </thead>
          <tbody>
            {list.map((a) => (
              <tr key={a.id}>
                <td>{a.name}</td>
                <td>{KIND[a.kind] ?? a.kind}</td>
                <td>
                  <Badge tone={STATUS[a.status].tone}>{STATUS[a.status].label}</Badge>
                  {a.lastError && (
                    <pre className="fp-mono" style={{ whiteSpace: "pre-wrap", margin: 0 }}>
                      {a.lastError}
                    </pre>
                  )}
                </td>
                <td>
                  <When at={a.lastSyncAt} />
                </td>
                <td>
                  {resourceSummary(a.resources)}
                  {a.deletedResources > 0 && (
                    <span className="fp-muted"> ({a.deletedResources.toLocaleString("en-US")} deleted)</span>
                  )}
                </td>
                <td>
                  <Button
                    variant="secondary"
                    aria-pressed={accountId === a.id}
                    onClick={() => setAccountId(accountId === a.id ? undefined : a.id)}
                  >
                    {accountId === a.id ? "All accounts" : "Only this one"}
                  </Button>
                </td>
                {canWrite && (
                  <td>
                    <div className="fp-form-inline">
                      <Button
                        variant="secondary"
                        aria-label={`Edit ${a.name}`}
                        aria-pressed={editing === a.id}
                        onClick={() => setEditing(editing === a.id ? undefined : a.id)}
                      >
                        Edit
                      </Button>
                      <Button
                        variant="secondary"
                        disabled={syncNow.isPending}
                        aria-label={`Sync ${a.name} now`}
                        onClick={() => syncNow.mutate({ orgSlug, accountId: a.id })}
                      >
                        Sync now
                      </Button>
                      <Button
                        variant="secondary"
                        disabled={remove.isPending}
                        aria-label={`Remove ${a.name}`}
                        onClick={() => {
                          if (
                            window.confirm(
                              `Remove ${a.name}? Its sync stops and its resources are marked deleted; older flows keep their names.`,
                            )
                          )
                            remove.mutate({ orgSlug, accountId: a.id });
                        }}
                      >
                        Remove
                      </Button>
                    </div>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </TableScroll>
      {canWrite && editing && names.has(editing) && (
        <EditCloudAccountForm
          key={editing}
          orgSlug={orgSlug}
          accountId={editing}
          onClose={() => setEditing(undefined)}
        />
      )}
      <p className="fp-hint">
        Each account is synced on a schedule by the controller (3 attempts with backoff); a failed attempt
        keeps the last good resources and shows its error here until a sync succeeds. Deleted resources keep
        their tag ids so older flows still name them.
      </p>
      <Card title={accountId ? `Recent changes: ${names.get(accountId) ?? "account"}` : "Recent changes"}>
        <History query={history} names={names} />
      </Card>
    </div>
  );
}

type THistoryQuery = {
  isPending: boolean;
  isError: boolean;
  error: unknown;
  data?: {
    changes: {
      id: string;
      at: string | Date;
      action: "created" | "updated" | "deleted";
      accountId: string;
      resource: { kind: string; externalId: string; name: string; tagId: number };
      changed: string[];
      previousName: string | null;
    }[];
  };
};

function History({ query, names }: { query: THistoryQuery; names: Map<string, string> }) {
  if (query.isPending)
    return (
      <p className="fp-loading" role="status">
        Loading changes…
      </p>
    );
  if (!query.data) return <ErrorAlert error={query.error} />;
  if (query.data.changes.length === 0)
    return <p className="fp-muted">No changes yet: they appear after the first sync that finds resources.</p>;
  return (
    <TableScroll label="Recent resource changes">
      <table className="fp-table">
        <caption className="fp-sr-only">Recent resource changes</caption>
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Change</th>
            <th scope="col">Resource</th>
            <th scope="col">Account</th>
            <th scope="col">What changed</th>
          </tr>
        </thead>
        <tbody>
          {query.data.changes.map((c) => (
            <tr key={c.id}>
              <td>
                <When at={c.at} />
              </td>
              <td>
                <Badge tone={ACTION[c.action]}>{c.action}</Badge>
              </td>
              <td>
                {c.resource.name} <span className="fp-muted">{c.resource.kind.replaceAll("_", " ")}</span>{" "}
                <span className="fp-mono fp-muted">{c.resource.externalId}</span>
              </td>
              <td>{names.get(c.accountId) ?? "—"}</td>
              <td>
                {c.previousName !== null && <>renamed from “{c.previousName}”; </>}
                {c.changed.length ? c.changed.join(", ") : <span className="fp-muted">—</span>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableScroll>
  );
}
