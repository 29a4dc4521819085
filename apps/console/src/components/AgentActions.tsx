"use client";

import { Button, Field } from "@flowplane/ui";
import { useMutation } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { useTRPC } from "../trpc/react.tsx";
import { ErrorAlert } from "./ErrorAlert.tsx";
import { useRefresh } from "./useRefreshMutation.ts";

/** Move to group, disable/enable, delete: shown only to roles with agents.write. */
export function AgentActions({
  orgSlug,
  agent,
  groups,
}: {
  orgSlug: string;
  agent: { id: string; name: string; groupId: string; state: string };
  groups: { id: string; name: string }[];
}) {
  const trpc = useTRPC();
  const router = useRouter();
  const { refresh } = useRefresh();
  const [groupId, setGroupId] = useState(agent.groupId);
  const move = useMutation(trpc.agents.move.mutationOptions({ onSuccess: refresh }));
  const toggle = useMutation(trpc.agents.setDisabled.mutationOptions({ onSuccess: refresh }));
  const del = useMutation(
    trpc.agents.delete.mutationOptions({ onSuccess: () => router.replace(`/o/${orgSlug}/agents`) }),
  );
  const disabled = agent.state === "disabled";
  return (
    <>
      <ErrorAlert error={move.error ?? toggle.error ?? del.error} />
      <div className="fp-form-inline">
        <Field id="move-group" label="Group">
          <select
            id="move-group"
            className="fp-input"
            value={groupId}
            onChange={(e) => setGroupId(e.target.value)}
          >
            {groups.map((g) => (
              <option key={g.id} value={g.id}>
                {g.name}
              </option>
            ))}
          </select>
        </Field>
        <Button
          variant="secondary"
          disabled={groupId === agent.groupId || move.isPending}
          onClick={() => move.mutate({ orgSlug, agentId: agent.id, groupId })}
        >
          Move
        </Button>
        <Button
          variant="secondary"
          onClick={() => toggle.mutate({ orgSlug, agentId: agent.id, disabled: !disabled })}
        >
          {disabled ? "Enable" : "Disable"}
        </Button>
        <Button
          variant="secondary"
          onClick={() => {
            if (window.confirm(`Delete ${agent.name}? Its credential stops working.`))
              del.mutate({ orgSlug, agentId: agent.id });
          }}
        >
          Delete
        </Button>
      </div>
    </>
  );
}
