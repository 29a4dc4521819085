import { Badge, Card } from "@flowplane/ui";
import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { AgentActions } from "../../../../../components/AgentActions.tsx";
import { orNotFound, serverCaller } from "../../../../../server/caller.ts";
import { pageAccess } from "../../../../../server/page-access.ts";
import { ArchiveAgentButton } from "./ArchiveAgentButton.tsx";
import { HealthHistory } from "./HealthHistory.tsx";

export const metadata: Metadata = { title: "Agent" };

const STEP_LABELS = {
  normal: "normal",
  shedding: "shedding load (degraded)",
  protective: "protective (L7 parsing off)",
  capture_stopped: "capture stopped",
} as const;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Why an agent may be sending nothing, from what the controller knows (first match wins). */
function diagnosis(a: {
  state: string;
  lastSeenAt: string | null;
  lastConfigOk: boolean | null;
  protectiveMode: boolean;
  packetsPerS: number | null;
  overload: { step: string; reason: string } | null;
}) {
  if (a.state === "disabled") return "It is disabled: the controller refuses its data.";
  if (!a.lastSeenAt) return "It has never checked in: check that it runs and can reach the controller.";
  if (Date.now() - new Date(a.lastSeenAt).getTime() > 5 * 60_000)
    return "No heartbeat for over 5 minutes: the host, the process or the network is down.";
  if (a.lastConfigOk === false) return "Its last configuration failed to apply (see the error below).";
  const why = a.overload?.reason ? `: ${a.overload.reason}` : "";
  if (a.overload?.step === "capture_stopped")
    return `Capture is stopped to protect the host${why}. It still syncs and reports, and resumes by itself once its load is back under the group's limits.`;
  if (a.overload?.step === "protective" || a.protectiveMode)
    return `It is in protective mode${why}. L7 parsing is off and packets are sampled (flows are still counted); it recovers by itself.`;
  if (a.overload?.step === "shedding")
    return `It is shedding load${why}. Packets are sampled and rows held in its spool; it recovers by itself.`;
  if (a.packetsPerS === 0)
    return "It is up but sees no packets: check the capture interface and BPF filter of its group.";
  return "It is checking in and capturing.";
}

export default async function AgentPage({
  params,
}: {
  params: Promise<{ orgSlug: string; agentId: string }>;
}) {
  const { orgSlug, agentId } = await params;
  if (!UUID.test(agentId)) notFound();
  const access = await pageAccess(orgSlug);
  const api = await serverCaller();
  const agent = await orNotFound(api.agents.get({ orgSlug, agentId }));
  const groups = access.can("agents.write") ? await api.groups.list({ orgSlug }) : [];
  const rows: [string, string][] = [
    ["Host", agent.hostname],
    ["IPs", agent.ips || "—"],
    ["Version", agent.version ?? "—"],
    ["OS", agent.os ?? "—"],
    ["Group", agent.groupName],
    ["Data node", agent.dataNode ?? "—"],
    ["Last seen", agent.lastSeenAt ? new Date(agent.lastSeenAt).toLocaleString() : "never"],
    ["Enrolled", new Date(agent.enrolledAt).toLocaleString()],
    ["Configuration", `runs r${agent.appliedRevision} of r${agent.groupRevision}`],
    [
      "Last apply",
      agent.lastConfigRevision === null
        ? "—"
        : `r${agent.lastConfigRevision}: ${agent.lastConfigOk ? "applied" : `failed: ${agent.lastConfigError ?? "no error text"}`}`,
    ],
    ["CPU", agent.cpuPct === null ? "—" : `${agent.cpuPct.toFixed(1)} %`],
    ["Memory", agent.memBytes === null ? "—" : `${Math.round(agent.memBytes / 1_048_576)} MB`],
    ["Packets/s", agent.packetsPerS === null ? "—" : String(Math.round(agent.packetsPerS))],
    ["Protective mode", agent.protectiveMode ? "on" : "off"],
  ];
  if (agent.overload && agent.overload.step !== "normal")
    rows.push(
      ["Overload", `${STEP_LABELS[agent.overload.step]}: ${agent.overload.reason || "no reason given"}`],
      [
        "Shed so far",
        `${agent.overload.shedPackets.toLocaleString("en-US")} packets, ${agent.overload.heldRows.toLocaleString("en-US")} rows held`,
      ],
    );
  return (
    <>
      <div className="fp-page-head">
        <div>
          <h1>
            {agent.name}{" "}
            <Badge tone={agent.state === "online" ? "ok" : agent.state === "offline" ? "bad" : "neutral"}>
              {agent.state}
            </Badge>
            {agent.archivedAt && <Badge tone="neutral">archived</Badge>}
          </h1>
          <p className="fp-page-sub">
            <a href={`/o/${orgSlug}/agents`}>All agents</a>
          </p>
        </div>
      </div>
      <div className="fp-stack">
        <Card title="Why is it (not) sending?">
          <p>{diagnosis(agent)}</p>
        </Card>
        {agent.archivedAt && (
          <div className="fp-alert fp-alert-info" role="status">
            Archived {new Date(agent.archivedAt).toLocaleString()} after a long silence: hidden from the agent
            list (see its "Archived" view), kept with its history. It returns by itself if it syncs again.
          </div>
        )}
        <HealthHistory orgSlug={orgSlug} agentId={agent.id} />
        <Card title="Details">
          <dl className="fp-dl">
            {rows.map(([k, v]) => (
              <div key={k} style={{ display: "contents" }}>
                <dt>{k}</dt>
                <dd style={{ margin: 0 }}>{v}</dd>
              </div>
            ))}
          </dl>
        </Card>
        {access.can("agents.write") && (
          <Card title="Actions">
            <AgentActions orgSlug={orgSlug} agent={agent} groups={groups} />
            <ArchiveAgentButton orgSlug={orgSlug} agent={agent} />
          </Card>
        )}
      </div>
    </>
  );
}
