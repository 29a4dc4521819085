"use client";

import { Button, Card, EmptyState, Field, SecretBox } from "@flowplane/ui";
import { useMutation } from "@tanstack/react-query";
import type { inferRouterOutputs } from "@trpc/server";
import type { FormEvent } from "react";
import type { AppRouter } from "../server/routers/_app.ts";
import { useTRPC } from "../trpc/react.tsx";
import { ErrorAlert } from "./ErrorAlert.tsx";
import { useRefresh } from "./useRefreshMutation.ts";

type Out = inferRouterOutputs<AppRouter>;
const ROLES = ["owner", "admin", "editor", "viewer"] as const;

export function MembersPanel({
  orgSlug,
  members,
  invitations,
  canWrite,
  canOwner,
  meId,
}: {
  orgSlug: string;
  members: Out["members"]["list"];
  invitations: Out["members"]["invitations"];
  canWrite: boolean;
  canOwner: boolean;
  meId: string;
}) {
  const trpc = useTRPC();
  const { refresh } = useRefresh();
  const opts = { onSuccess: refresh };
  const invite = useMutation(trpc.members.invite.mutationOptions(opts));
  const changeRole = useMutation(trpc.members.changeRole.mutationOptions(opts));
  const remove = useMutation(trpc.members.remove.mutationOptions(opts));
  const revoke = useMutation(trpc.members.revokeInvitation.mutationOptions(opts));
  const grantable = ROLES.filter((r) => canOwner || r !== "owner");

  function onInvite(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    invite.mutate({
      orgSlug,
      email: String(form.get("email") ?? ""),
      role: String(form.get("role")) as (typeof ROLES)[number],
    });
  }

  return (
    <div className="fp-stack">
      {canWrite && (
        <Card title="Invite someone">
          <form className="fp-form-inline" onSubmit={onInvite} noValidate>
            <Field id="invite-email" label="Email">
              <input id="invite-email" name="email" type="email" className="fp-input" required />
            </Field>
            <Field id="invite-role" label="Role">
              <select id="invite-role" name="role" className="fp-input" defaultValue="viewer">
                {grantable.map((r) => (
                  <option key={r} value={r}>
                    {r}
                  </option>
                ))}
              </select>
            </Field>
            <Button type="submit" disabled={invite.isPending}>
              Create invitation link
            </Button>
          </form>
          <ErrorAlert error={invite.error} />
          {invite.data && (
            <SecretBox
              label={`One-time link for ${invite.data.email} (${invite.data.role})`}
              value={invite.data.link}
              note="Shown once. Send it to the person; it works for that email's account only, for 7 days."
            />
          )}
        </Card>
      )}
      <Card title="Members">
        <ErrorAlert error={changeRole.error ?? remove.error} />
        <div className="fp-table-wrap">
          <table className="fp-table">
            <caption className="fp-sr-only">Members</caption>
            <thead>
              <tr>
                <th>Email</th>
                <th>Name</th>
                <th>Role</th>
                <th>Member since</th>
                {canWrite && <th>Actions</th>}
              </tr>
            </thead>
            <tbody>
              {members.map((m) => {
                const editable = canWrite && (canOwner || m.role !== "owner");
                return (
                  <tr key={m.userId}>
                    <td>{m.email}</td>
                    <td>{m.name ?? "—"}</td>
                    <td>
                      {editable ? (
                        <select
                          aria-label={`Role of ${m.email}`}
                          className="fp-input"
                          value={m.role}
                          onChange={(e) =>
                            changeRole.mutate({
                              orgSlug,
                              userId: m.userId,
                              role: e.target.value as (typeof ROLES)[number],
                            })
                          }
                        >
                          {grantable.map((r) => (
                            <option key={r} value={r}>
                              {r}
                            </option>
                          ))}
                        </select>
                      ) : (
                        m.role
                      )}
                    </td>
                    <td>{new Date(m.since).toLocaleDateString()}</td>
                    {canWrite && (
                      <td>
                        {editable && (
                          <Button
                            variant="ghost"
                            onClick={() => {
                              const who = m.userId === meId ? "yourself" : m.email;
                              if (
                                window.confirm(
                                  `Remove ${who} from this organization? Their sessions end at once.`,
                                )
                              )
                                remove.mutate({ orgSlug, userId: m.userId });
                            }}
                          >
                            Remove
                          </Button>
                        )}
                      </td>
                    )}
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      </Card>
      {canWrite && (
        <Card title="Pending invitations">
          <ErrorAlert error={revoke.error} />
          {invitations.length === 0 ? (
            <EmptyState title="No pending invitations" />
          ) : (
            <ul>
              {invitations.map((i) => (
                <li key={i.id} className="fp-actions">
                  {i.email} as {i.role}, until {new Date(i.expiresAt).toLocaleString()}
                  <Button variant="ghost" onClick={() => revoke.mutate({ orgSlug, invitationId: i.id })}>
                    Revoke
                  </Button>
                </li>
              ))}
            </ul>
          )}
        </Card>
      )}
    </div>
  );
}
