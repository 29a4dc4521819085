"use client";

import { Alert, Button, Card, DataTable, EmptyState, Field } from "@flowplane/ui";
import { useMutation } from "@tanstack/react-query";
import type { inferRouterOutputs } from "@trpc/server";
import { type FormEvent, useState } from "react";
import type { AppRouter } from "../server/routers/_app.ts";
import { useTRPC } from "../trpc/react.tsx";
import { ErrorAlert } from "./ErrorAlert.tsx";
import { useRefresh } from "./useRefreshMutation.ts";

type Out = inferRouterOutputs<AppRouter>["npb"];
type PolicyView = Omit<Out["list"]["policies"][number], "updatedAt">;
type CounterRow = Out["counters"][number];

const EXAMPLE_MATCH = { serverPorts: [443], protocols: ["tcp"] };
const EXAMPLE_ACTION = {
  destinations: [{ address: "192.0.2.10" }],
  encap: { type: "vxlan", vni: 100 },
  truncatePayload: 128,
};

type Draft = {
  id?: string;
  name: string;
  priority: number;
  enabled: boolean;
  groupIds: string[];
  continueMatching: boolean;
  match: string;
  action: string;
};
const json = (v: unknown) => JSON.stringify(v, null, 2);
const blank = (): Draft => ({
  name: "",
  priority: 100,
  enabled: true,
  groupIds: [],
  continueMatching: false,
  match: json(EXAMPLE_MATCH),
  action: json(EXAMPLE_ACTION),
});

function summary(action: unknown): string {
  const a = action as {
    destinations?: { address: string; port?: number }[];
    encap?: { type: string; vni?: number; sessionId?: number };
    truncatePayload?: number;
  };
  const dests = (a.destinations ?? []).map((d) => (d.port ? `${d.address}:${d.port}` : d.address)).join(", ");
  const e = a.encap;
  const encap = e
    ? `${e.type}${e.vni !== undefined ? ` ${e.vni}` : e.sessionId !== undefined ? ` ${e.sessionId}` : ""}`
    : "";
  return [encap, dests, a.truncatePayload !== undefined ? `truncate ${a.truncatePayload}` : ""]
    .filter(Boolean)
    .join(" · ");
}

function sumBy(rows: CounterRow[], key: (r: CounterRow) => string): Map<string, CounterRow> {
  const out = new Map<string, CounterRow>();
  for (const r of rows) {
    const k = key(r);
    const cur = out.get(k);
    if (!cur) out.set(k, { ...r });
    else
      for (const f of [
        "matched",
        "sent",
        "bytes",
        "truncated",
        "deduplicated",
        "not_designated",
        "dropped_by_cap",
        "encap_errors",
      ] as const)
        cur[f] += r[f];
  }
  return out;
}

const COUNTER_COLUMNS = [
  { id: "matched", header: "Matched", kind: "number" as const, align: "right" as const },
  { id: "sent", header: "Sent", kind: "number" as const, align: "right" as const },
  { id: "bytes", header: "Bytes", kind: "number" as const, align: "right" as const },
  { id: "truncated", header: "Truncated", kind: "number" as const, align: "right" as const },
  { id: "deduplicated", header: "Deduplicated", kind: "number" as const, align: "right" as const },
  { id: "not_designated", header: "Left to other agents", kind: "number" as const, align: "right" as const },
  { id: "dropped_by_cap", header: "Dropped by cap", kind: "number" as const, align: "right" as const },
];

export function PacketBrokerPanel({
  orgSlug,
  policies,
  groups,
  counters,
  hourly,
  canWrite,
}: {
  orgSlug: string;
  policies: PolicyView[];
  groups: { id: string; name: string }[];
  /** Last 24 h per policy and agent; null when ClickHouse did not answer. */
  counters: CounterRow[] | null;
  /** Last 24 h per policy and hour, oldest first. */
  hourly: CounterRow[] | null;
  canWrite: boolean;
}) {
  const trpc = useTRPC();
  const { refresh } = useRefresh();
  const [draft, setDraft] = useState<Draft>(blank);
  const [parseError, setParseError] = useState<string | null>(null);
  const save = useMutation(
    trpc.npb.save.mutationOptions({
      onSuccess: () => {
        setDraft(blank());
        refresh();
      },
    }),
  );
  const remove = useMutation(trpc.npb.remove.mutationOptions({ onSuccess: refresh }));
  const groupName = new Map(groups.map((g) => [g.id, g.name]));
  const policyName = new Map(policies.map((p) => [p.id, p.name]));
  const perPolicy = sumBy(counters ?? [], (r) => r.policy_id);

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    let match: unknown;
    let action: unknown;
    try {
      match = draft.match.trim() ? JSON.parse(draft.match) : {};
    } catch (err) {
      setParseError(`match: not valid JSON (${(err as Error).message})`);
      return;
    }
    try {
      action = JSON.parse(draft.action);
    } catch (err) {
      setParseError(`action: not valid JSON (${(err as Error).message})`);
      return;
    }
    setParseError(null);
    save.mutate({
      orgSlug,
      ...(draft.id ? { id: draft.id } : {}),
      name: draft.name,
      priority: draft.priority,
      enabled: draft.enabled,
      groupIds: draft.groupIds,
      continueMatching: draft.continueMatching,
      match,
      action,
    });
  }

  return (
    <div className="fp-stack">
      <Card title="Policies (last 24 h)">
        <ErrorAlert error={remove.error} />
        {counters === null && (
          <Alert tone="info">Counters are unavailable right now (telemetry store not answering).</Alert>
        )}
        <DataTable
          caption="Packet-broker policies"
          columns={[
            { id: "priority", header: "Priority", kind: "number", align: "right" },
            { id: "name", header: "Name" },
            { id: "state", header: "State", kind: "state" },
            { id: "groups", header: "Agent groups" },
            { id: "afterMatch", header: "After a match" },
            { id: "deliver", header: "Delivers", kind: "mono" },
            ...COUNTER_COLUMNS,
          ]}
          rows={policies.map((p) => {
            const c = perPolicy.get(p.id);
            return {
              id: p.id,
              priority: p.priority,
              name: p.name,
              state: p.enabled ? "ok" : "disabled",
              afterMatch: p.continueMatching ? "continue" : "stop",
              groups: p.groupIds.length ? p.groupIds.map((g) => groupName.get(g) ?? g).join(", ") : "all",
              deliver: summary(p.action),
              matched: c?.matched ?? 0,
              sent: c?.sent ?? 0,
              bytes: c?.bytes ?? 0,
              truncated: c?.truncated ?? 0,
              deduplicated: c?.deduplicated ?? 0,
              not_designated: c?.not_designated ?? 0,
              dropped_by_cap: c?.dropped_by_cap ?? 0,
            };
          })}
          empty={
            <EmptyState title="No policies yet">Create one below to start forwarding packets.</EmptyState>
          }
        />
        {canWrite && policies.length > 0 && (
          <div className="fp-actions" style={{ marginTop: 8 }}>
            {policies.map((p) => (
              <span key={p.id} className="fp-actions">
                <Button
                  variant="secondary"
                  onClick={() =>
                    setDraft({
                      id: p.id,
                      name: p.name,
                      priority: p.priority,
                      enabled: p.enabled,
                      groupIds: p.groupIds,
                      continueMatching: p.continueMatching,
                      match: json(p.match),
                      action: json(p.action),
                    })
                  }
                >
                  Edit {p.name}
                </Button>
                <Button
                  variant="ghost"
                  onClick={() => {
                    if (window.confirm(`Delete ${p.name}? Agents stop forwarding for it at their next sync.`))
                      remove.mutate({ orgSlug, id: p.id });
                  }}
                >
                  Delete {p.name}
                </Button>
              </span>
            ))}
          </div>
        )}
      </Card>

      <Card title="Per agent (last 24 h)">
        <DataTable
          caption="Packet-broker counters per policy and agent"
          columns={[
            { id: "policy", header: "Policy" },
            { id: "agent", header: "Agent", kind: "mono", linkKey: "agentHref" },
            ...COUNTER_COLUMNS,
          ]}
          rows={[...sumBy(counters ?? [], (r) => `${r.policy_id}/${r.agent_id}`).values()].map((r) => ({
            id: `${r.policy_id}/${r.agent_id}`,
            policy: policyName.get(r.policy_id) ?? `${r.policy_id.slice(0, 8)} (deleted)`,
            agent: r.agent_id,
            agentHref: `/o/${orgSlug}/agents/${r.agent_id}`,
            matched: r.matched,
            sent: r.sent,
            bytes: r.bytes,
            truncated: r.truncated,
            deduplicated: r.deduplicated,
            not_designated: r.not_designated,
            dropped_by_cap: r.dropped_by_cap,
          }))}
          empty={
            <EmptyState title="Nothing reported">
              Agents report counters with every sync once a policy matches.
            </EmptyState>
          }
        />
      </Card>

      <Card title="Per hour (last 24 h)">
        <DataTable
          caption="Packet-broker counters per policy and hour"
          columns={[
            { id: "hour", header: "Hour (UTC)", kind: "datetime" },
            { id: "policy", header: "Policy" },
            ...COUNTER_COLUMNS,
          ]}
          rows={[...(hourly ?? [])].reverse().map((r) => ({
            id: `${r.time}/${r.policy_id}`,
            hour: new Date(r.time / 1000).toISOString(),
            policy: policyName.get(r.policy_id) ?? `${r.policy_id.slice(0, 8)} (deleted)`,
            matched: r.matched,
            sent: r.sent,
            bytes: r.bytes,
            truncated: r.truncated,
            deduplicated: r.deduplicated,
            not_designated: r.not_designated,
            dropped_by_cap: r.dropped_by_cap,
          }))}
          empty={
            <EmptyState title="Nothing reported">No policy matched a packet in the last 24 h.</EmptyState>
          }
        />
      </Card>

      {canWrite && (
        <Card title={draft.id ? `Edit ${draft.name}` : "New policy"}>
          <form onSubmit={onSubmit} noValidate>
            {parseError && <Alert tone="bad">{parseError}</Alert>}
            <ErrorAlert error={save.error} />
            <div className="fp-form-inline">
              <Field id="npb-name" label="Name">
                <input
                  id="npb-name"
                  className="fp-input"
                  value={draft.name}
                  onChange={(e) => setDraft({ ...draft, name: e.target.value })}
                  required
                />
              </Field>
              <Field id="npb-priority" label="Priority (lower first)">
                <input
                  id="npb-priority"
                  type="number"
                  min={0}
                  max={65535}
                  className="fp-input"
                  value={draft.priority}
                  onChange={(e) => setDraft({ ...draft, priority: Number(e.target.value) })}
                />
              </Field>
              <Field id="npb-enabled" label="Enabled">
                <input
                  id="npb-enabled"
                  type="checkbox"
                  checked={draft.enabled}
                  onChange={(e) => setDraft({ ...draft, enabled: e.target.checked })}
                />
              </Field>
              <Field id="npb-continue" label="Then try lower priorities">
                <input
                  id="npb-continue"
                  type="checkbox"
                  checked={draft.continueMatching}
                  onChange={(e) => setDraft({ ...draft, continueMatching: e.target.checked })}
                />
              </Field>
            </div>
            <fieldset className="fp-field">
              <legend>Agent groups (none ticked: every group)</legend>
              {groups.map((g) => (
                <label key={g.id} style={{ marginRight: 12 }}>
                  <input
                    type="checkbox"
                    checked={draft.groupIds.includes(g.id)}
                    onChange={(e) =>
                      setDraft({
                        ...draft,
                        groupIds: e.target.checked
                          ? [...draft.groupIds, g.id]
                          : draft.groupIds.filter((x) => x !== g.id),
                      })
                    }
                  />{" "}
                  {g.name}
                </label>
              ))}
            </fieldset>
            <Field
              id="npb-match"
              label="Match (JSON)"
              hint="clientCidrs, serverCidrs, clientPorts, serverPorts, protocols, vlans, tunnelTypes, tunnelIds, interfaces, direction, l7Protocols"
            >
              <textarea
                id="npb-match"
                className="fp-code"
                style={{ height: 160 }}
                spellCheck={false}
                value={draft.match}
                onChange={(e) => setDraft({ ...draft, match: e.target.value })}
                aria-describedby="npb-match-hint"
              />
            </Field>
            <Field
              id="npb-action"
              label="Action (JSON)"
              hint="destinations, encap (vxlan vni | gre key | erspan2/erspan3 sessionId), stripTunnel, truncatePayload, bandwidthCap {mbps}, mark {vlan, dscp}"
            >
              <textarea
                id="npb-action"
                className="fp-code"
                style={{ height: 160 }}
                spellCheck={false}
                value={draft.action}
                onChange={(e) => setDraft({ ...draft, action: e.target.value })}
                aria-describedby="npb-action-hint"
              />
            </Field>
            <div className="fp-actions">
              <Button type="submit" disabled={save.isPending}>
                {draft.id ? "Save policy" : "Create policy"}
              </Button>
              {draft.id && (
                <Button variant="ghost" type="button" onClick={() => setDraft(blank())}>
                  Cancel
                </Button>
              )}
            </div>
          </form>
        </Card>
      )}
    </div>
  );
}
