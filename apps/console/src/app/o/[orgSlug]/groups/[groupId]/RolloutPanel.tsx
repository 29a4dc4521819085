"use client";

import { Badge, type BadgeTone, Button, Card, EmptyState, Field } from "@flowplane/ui";
import { useMutation, useQuery } from "@tanstack/react-query";
import type { inferRouterOutputs } from "@trpc/server";
import { useState } from "react";
import { ErrorAlert } from "../../../../../components/ErrorAlert.tsx";
import { TableScroll } from "../../../../../components/TableScroll.tsx";
import type { AppRouter } from "../../../../../server/routers/_app.ts";
import { useTRPC } from "../../../../../trpc/react.tsx";

type Rollout = inferRouterOutputs<AppRouter>["groups"]["rollout"];
type Status = Rollout["agents"][number]["status"];

const STATUS: Record<Status, { label: string; tone: BadgeTone; colour: string }> = {
  applied: { label: "applied", tone: "ok", colour: "#1a7f37" },
  failed: { label: "failed", tone: "bad", colour: "#cf222e" },
  pending: { label: "pending", tone: "info", colour: "#2f6fde" },
  held_back: { label: "held back", tone: "neutral", colour: "#8c959f" },
};

const PHASE: Record<Rollout["phase"], { label: string; tone: BadgeTone }> = {
  none: { label: "no configuration yet", tone: "neutral" },
  complete: { label: "rolled out to all", tone: "ok" },
  canary: { label: "canary stage", tone: "info" },
  halted: { label: "halted", tone: "bad" },
};

function duration(s: number): string {
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${Math.round(s / 360) / 10} h`;
}

/**
 * The group's rollout, live: per agent whether it applied, failed (with the error) or waits for
 * the revision being rolled out, the canary stage and a halt with its reason. Polls every 5 s.
 */
export function RolloutPanel({
  orgSlug,
  groupId,
  canWrite,
}: {
  orgSlug: string;
  groupId: string;
  canWrite: boolean;
}) {
  const trpc = useTRPC();
  const q = useQuery({ ...trpc.groups.rollout.queryOptions({ orgSlug, groupId }), refetchInterval: 5_000 });
  if (q.isPending) {
    return (
      <Card title="Rollout">
        <p className="fp-loading" role="status">
          Loading rollout progress…
        </p>
      </Card>
    );
  }
  if (q.isError && !q.data) {
    return (
      <Card title="Rollout">
        <ErrorAlert error={q.error} />
      </Card>
    );
  }
  const r = q.data;
  const total = r.agents.length;
  const phase = PHASE[r.phase];
  return (
    <Card
      title={
        <>
          Rollout of r{r.currentRevision} <Badge tone={phase.tone}>{phase.label}</Badge>
        </>
      }
    >
      {q.isError && <ErrorAlert error={q.error} />}
      <div className="fp-stack">
        <p className="fp-hint" aria-live="polite">
          {r.canaryPercent >= 100
            ? "Changes reach every agent at once."
            : `Changes go to ${r.canaryPercent} % of agents first (canaries), the rest after the canaries run them healthy for ${duration(r.canaryHoldS)}.`}{" "}
          {r.phase === "canary" &&
            `Stable revision r${r.stableRevision} stays on the other agents${r.holdRemainingS === null ? " until the controller starts the stage" : `; promotion in about ${duration(r.holdRemainingS)} if the canaries stay healthy`}.`}
          {r.phase === "halted" &&
            ` Every agent is kept on r${r.stableRevision}; save a fixed revision to start again.`}
        </p>
        {r.rolloutMessage && (
          <div
            className={`fp-alert ${r.phase === "halted" ? "fp-alert-bad" : "fp-alert-info"}`}
            role="status"
          >
            {r.rolloutMessage}
          </div>
        )}
        {total === 0 ? (
          <EmptyState title="No agents in this group">
            Agents that enrol with one of this group's tokens appear here with their rollout status.
          </EmptyState>
        ) : (
          <>
            <div
              className="fp-progress"
              role="img"
              aria-label={(Object.keys(STATUS) as Status[])
                .map((s) => `${r.counts[s]} ${STATUS[s].label}`)
                .join(", ")}
            >
              {(Object.keys(STATUS) as Status[]).map((s) =>
                r.counts[s] ? (
                  <span
                    key={s}
                    style={{ width: `${(r.counts[s] / total) * 100}%`, background: STATUS[s].colour }}
                  />
                ) : null,
              )}
            </div>
            <p className="fp-muted">
              {(Object.keys(STATUS) as Status[]).map((s, i) => (
                <span key={s}>
                  {i > 0 && " · "}
                  {r.counts[s]} {STATUS[s].label}
                </span>
              ))}
            </p>
            <TableScroll label="Rollout status per agent">
              <table className="fp-table">
                <caption className="fp-sr-only">Rollout status per agent</caption>
                <thead>
                  <tr>
                    <th scope="col">Agent</th>
                    <th scope="col">Role</th>
                    <th scope="col">State</th>
                    <th scope="col" className="fp-right">
                      Should run
                    </th>
                    <th scope="col" className="fp-right">
                      Runs
                    </th>
                    <th scope="col">r{r.currentRevision}</th>
                    <th scope="col">Error</th>
                  </tr>
                </thead>
                <tbody>
                  {r.agents.map((a) => (
                    <tr key={a.id}>
                      <td>
                        <a href={`/o/${orgSlug}/agents/${a.id}`}>{a.name}</a>
                      </td>
                      <td>
                        {r.phase === "canary" || r.phase === "halted" ? (a.canary ? "canary" : "—") : "—"}
                      </td>
                      <td>{a.state}</td>
                      <td className="fp-right">r{a.targetRevision}</td>
                      <td className="fp-right">r{a.appliedRevision}</td>
                      <td>
                        <Badge tone={STATUS[a.status].tone}>{STATUS[a.status].label}</Badge>
                      </td>
                      <td className="fp-mono">{a.error ?? ""}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableScroll>
          </>
        )}
        {canWrite && <RolloutSettings orgSlug={orgSlug} rollout={r} onSaved={() => void q.refetch()} />}
      </div>
    </Card>
  );
}

function RolloutSettings({
  orgSlug,
  rollout,
  onSaved,
}: {
  orgSlug: string;
  rollout: Rollout;
  onSaved: () => void;
}) {
  const trpc = useTRPC();
  const [percent, setPercent] = useState(String(rollout.canaryPercent));
  const [hold, setHold] = useState(String(rollout.canaryHoldS));
  const save = useMutation(trpc.groups.setRollout.mutationOptions({ onSuccess: onSaved }));
  const changed = Number(percent) !== rollout.canaryPercent || Number(hold) !== rollout.canaryHoldS;
  return (
    <form
      aria-label="Rollout settings"
      onSubmit={(e) => {
        e.preventDefault();
        save.mutate({
          orgSlug,
          groupId: rollout.groupId,
          canaryPercent: Number(percent),
          canaryHoldS: Number(hold),
        });
      }}
    >
      <ErrorAlert error={save.error} />
      <div className="fp-form-inline">
        <Field id="canary-percent" label="Canary share (%)" hint="100 rolls out to every agent at once">
          <input
            id="canary-percent"
            aria-describedby="canary-percent-hint"
            className="fp-input"
            type="number"
            min={1}
            max={100}
            required
            value={percent}
            onChange={(e) => setPercent(e.target.value)}
          />
        </Field>
        <Field id="canary-hold" label="Canary hold (s)" hint="how long canaries must stay healthy">
          <input
            id="canary-hold"
            aria-describedby="canary-hold-hint"
            className="fp-input"
            type="number"
            min={10}
            max={604800}
            required
            value={hold}
            onChange={(e) => setHold(e.target.value)}
          />
        </Field>
        <Button type="submit" variant="secondary" disabled={!changed || save.isPending}>
          {save.isPending ? "Saving…" : "Save rollout settings"}
        </Button>
      </div>
    </form>
  );
}
