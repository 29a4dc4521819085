"use client";

import { Button } from "@flowplane/ui";
import { useMutation } from "@tanstack/react-query";
import { ErrorAlert } from "../../../../../components/ErrorAlert.tsx";
import { useRefresh } from "../../../../../components/useRefreshMutation.ts";
import { useTRPC } from "../../../../../trpc/react.tsx";

/**
 * Archive a silent agent by hand (the controller also does it after a long silence) or restore an
 * archived one. Live agents cannot be archived: the server refuses, so the button is not offered.
 */
export function ArchiveAgentButton({
  orgSlug,
  agent,
}: {
  orgSlug: string;
  agent: { id: string; state: string; archivedAt: string | null };
}) {
  const trpc = useTRPC();
  const { refresh } = useRefresh();
  const m = useMutation(trpc.agents.setArchived.mutationOptions({ onSuccess: refresh }));
  const live = agent.state === "online" || agent.state === "degraded";
  if (live && !agent.archivedAt) return null;
  return (
    <div className="fp-form-inline" style={{ marginTop: 12 }}>
      <ErrorAlert error={m.error} />
      <Button
        variant="secondary"
        disabled={m.isPending}
        onClick={() => m.mutate({ orgSlug, agentId: agent.id, archived: !agent.archivedAt })}
      >
        {agent.archivedAt ? "Restore to the agent list" : "Archive"}
      </Button>
    </div>
  );
}
