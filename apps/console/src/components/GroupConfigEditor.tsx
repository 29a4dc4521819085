"use client";

import { Alert, Button, Card, Field } from "@flowplane/ui";
import { useMutation, useQuery } from "@tanstack/react-query";
import type { inferRouterOutputs } from "@trpc/server";
import { useState } from "react";
import type { AppRouter } from "../server/routers/_app.ts";
import { useTRPC } from "../trpc/react.tsx";
import { ErrorAlert } from "./ErrorAlert.tsx";
import { useRefresh } from "./useRefreshMutation.ts";

type Group = inferRouterOutputs<AppRouter>["groups"]["get"];

/** JSON editor (validated on the server against the agent config schema), history, diff, rollback. */
export function GroupConfigEditor({
  orgSlug,
  group,
  canWrite,
  help,
}: {
  orgSlug: string;
  group: Group;
  canWrite: boolean;
  help: Record<string, string>;
}) {
  const trpc = useTRPC();
  const { refresh } = useRefresh();
  const [text, setText] = useState(group.configText);
  const [comment, setComment] = useState("");
  const [parseError, setParseError] = useState<string>();
  const revisions = group.history.map((h) => h.revision);
  const [from, setFrom] = useState(revisions[1] ?? revisions[0] ?? 1);
  const [to, setTo] = useState(revisions[0] ?? 1);
  const save = useMutation(
    trpc.groups.saveConfig.mutationOptions({
      onSuccess: () => {
        setComment("");
        refresh();
      },
    }),
  );
  const rollback = useMutation(trpc.groups.rollback.mutationOptions({ onSuccess: refresh }));
  const diff = useQuery(trpc.groups.diff.queryOptions({ orgSlug, groupId: group.id, from, to }));

  function onSave() {
    let config: unknown;
    try {
      config = JSON.parse(text);
    } catch (err) {
      setParseError(`Not valid JSON: ${(err as Error).message}`);
      return;
    }
    setParseError(undefined);
    save.mutate({
      orgSlug,
      groupId: group.id,
      baseRevision: group.currentRevision,
      config,
      ...(comment ? { comment } : {}),
    });
  }

  return (
    <div className="fp-stack">
      <Card title={`Configuration · revision ${group.currentRevision}`}>
        {parseError && <Alert tone="bad">{parseError}</Alert>}
        <ErrorAlert error={save.error} />
        {save.isSuccess && <Alert tone="ok">Saved as revision {save.data.revision}.</Alert>}
        <label htmlFor="config-editor" className="fp-sr-only">
          Configuration JSON
        </label>
        <textarea
          id="config-editor"
          className="fp-code"
          value={text}
          onChange={(e) => setText(e.target.value)}
          readOnly={!canWrite}
          spellCheck={false}
          aria-describedby="config-help"
        />
        <dl id="config-help" className="fp-dl" style={{ margin: "12px 0" }}>
          {Object.entries(help).map(([k, v]) => (
            <div key={k} style={{ display: "contents" }}>
              <dt className="fp-mono">{k}</dt>
              <dd style={{ margin: 0 }}>{v}</dd>
            </div>
          ))}
        </dl>
        {canWrite && (
          <div className="fp-form-inline">
            <Field id="config-comment" label="Comment">
              <input
                id="config-comment"
                className="fp-input"
                value={comment}
                onChange={(e) => setComment(e.target.value)}
              />
            </Field>
            <Button onClick={onSave} disabled={save.isPending}>
              {save.isPending ? "Saving…" : "Save as new revision"}
            </Button>
          </div>
        )}
      </Card>
      <Card title="History">
        <ErrorAlert error={rollback.error} />
        <div className="fp-table-wrap">
          <table className="fp-table">
            <caption className="fp-sr-only">Revisions</caption>
            <thead>
              <tr>
                <th>Revision</th>
                <th>Comment</th>
                <th>By</th>
                <th>When</th>
                {canWrite && <th>Actions</th>}
              </tr>
            </thead>
            <tbody>
              {group.history.map((h) => (
                <tr key={h.revision}>
                  <td>
                    r{h.revision}
                    {h.revision === group.currentRevision ? " (current)" : ""}
                  </td>
                  <td>{h.comment ?? "—"}</td>
                  <td>{h.createdBy ?? "—"}</td>
                  <td>{new Date(h.createdAt).toLocaleString()}</td>
                  {canWrite && (
                    <td>
                      {h.revision !== group.currentRevision && (
                        <Button
                          variant="ghost"
                          onClick={() =>
                            rollback.mutate({
                              orgSlug,
                              groupId: group.id,
                              toRevision: h.revision,
                              baseRevision: group.currentRevision,
                            })
                          }
                        >
                          Roll back to r{h.revision}
                        </Button>
                      )}
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </Card>
      <Card title="Diff">
        <div className="fp-form-inline" style={{ marginBottom: 8 }}>
          <Field id="diff-from" label="From">
            <select
              id="diff-from"
              className="fp-input"
              value={from}
              onChange={(e) => setFrom(Number(e.target.value))}
            >
              {revisions.map((r) => (
                <option key={r} value={r}>
                  r{r}
                </option>
              ))}
            </select>
          </Field>
          <Field id="diff-to" label="To">
            <select
              id="diff-to"
              className="fp-input"
              value={to}
              onChange={(e) => setTo(Number(e.target.value))}
            >
              {revisions.map((r) => (
                <option key={r} value={r}>
                  r{r}
                </option>
              ))}
            </select>
          </Field>
        </div>
        <ErrorAlert error={diff.error} />
        {diff.data && (
          <section className="fp-diff" aria-label={`Diff r${from} to r${to}`}>
            {diff.data.lines.map((l, i) => (
              <div
                // biome-ignore lint/suspicious/noArrayIndexKey: lines of a fixed diff, never reordered
                key={i}
                className={l.op === "add" ? "fp-diff-add" : l.op === "del" ? "fp-diff-del" : undefined}
              >
                {l.op === "add" ? "+ " : l.op === "del" ? "- " : "  "}
                {l.text}
              </div>
            ))}
          </section>
        )}
      </Card>
    </div>
  );
}
