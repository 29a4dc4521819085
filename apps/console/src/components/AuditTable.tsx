"use client";

import { Button, EmptyState, Field } from "@flowplane/ui";
import { useInfiniteQuery } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { useTRPC } from "../trpc/react.tsx";
import { ErrorAlert } from "./ErrorAlert.tsx";

type Filters = { actor?: string; action?: string; target?: string; from?: string; to?: string };

function toIso(local: FormDataEntryValue | null): string | undefined {
  const s = String(local ?? "");
  return s ? new Date(s).toISOString() : undefined;
}

/** Filter form + the paginated log ("Load more" follows the keyset cursor). */
export function AuditTable({ orgSlug }: { orgSlug: string }) {
  const trpc = useTRPC();
  const [filters, setFilters] = useState<Filters>({});
  const query = useInfiniteQuery(
    trpc.audit.list.infiniteQueryOptions(
      { orgSlug, limit: 50, ...filters },
      { getNextPageParam: (last) => last.nextCursor ?? undefined },
    ),
  );
  function onFilter(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const f = new FormData(event.currentTarget);
    const text = (k: string) => String(f.get(k) ?? "").trim() || undefined;
    setFilters({
      actor: text("actor"),
      action: text("action"),
      target: text("target"),
      from: toIso(f.get("from")),
      to: toIso(f.get("to")),
    });
  }
  const items = query.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <>
      <form className="fp-form-inline" onSubmit={onFilter} noValidate style={{ marginBottom: 12 }}>
        <Field id="f-actor" label="Actor (email or id)">
          <input id="f-actor" name="actor" className="fp-input" />
        </Field>
        <Field id="f-action" label="Action (prefix)">
          <input id="f-action" name="action" className="fp-input" placeholder="members." />
        </Field>
        <Field id="f-target" label="Target (type or id)">
          <input id="f-target" name="target" className="fp-input" placeholder="agent_group" />
        </Field>
        <Field id="f-from" label="From">
          <input id="f-from" name="from" type="datetime-local" className="fp-input" />
        </Field>
        <Field id="f-to" label="To">
          <input id="f-to" name="to" type="datetime-local" className="fp-input" />
        </Field>
        <Button type="submit">Filter</Button>
      </form>
      <ErrorAlert error={query.error} />
      {query.isPending ? (
        <div className="fp-loading" role="status">
          Loading…
        </div>
      ) : items.length === 0 ? (
        <EmptyState title="No matching entries" />
      ) : (
        <div className="fp-table-wrap">
          <table className="fp-table">
            <caption className="fp-sr-only">Audit log</caption>
            <thead>
              <tr>
                <th>When</th>
                <th>Actor</th>
                <th>Action</th>
                <th>Target</th>
                <th>Change</th>
              </tr>
            </thead>
            <tbody>
              {items.map((e) => (
                <tr key={e.id}>
                  <td title={e.createdAt}>{new Date(e.createdAt).toLocaleString()}</td>
                  <td>{e.actorLabel}</td>
                  <td className="fp-mono">{e.action}</td>
                  <td className="fp-mono">
                    {e.targetType} {e.targetId ? e.targetId.slice(0, 8) : ""}
                  </td>
                  <td>
                    <details>
                      <summary>before / after</summary>
                      <pre className="fp-mono" style={{ whiteSpace: "pre-wrap", maxWidth: 520 }}>
                        {JSON.stringify({ before: e.before ?? null, after: e.after ?? null }, null, 2)}
                      </pre>
                    </details>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {query.hasNextPage && (
        <Button variant="secondary" onClick={() => query.fetchNextPage()} disabled={query.isFetchingNextPage}>
          {query.isFetchingNextPage ? "Loading…" : "Load more"}
        </Button>
      )}
    </>
  );
}
