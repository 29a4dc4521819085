import type { Db, ScopedClient } from "@flowplane/db/client";
import { ZAgentStats } from "@flowplane/protocol";
import type { Redis } from "ioredis";
import { observedRowsPerSecond } from "../ingest/observed-rates.ts";

export type TDiagnosisCode =
  | "never_synced"
  | "disabled"
  | "credential_revoked"
  | "silent"
  | "no_data_node"
  | "no_packets"
  | "spooling"
  | "protective_mode"
  | "shedding"
  | "config_failed"
  | "ok";

export type TDiagnosis = { code: TDiagnosisCode; message: string };

/**
 * Why an agent sends nothing (or nothing much), most fundamental reason first: the answer the
 * console shows next to an agent. Reads the agent through its org's scoped client; data nodes
 * (platform rows) through `unsafe`.
 */
export async function diagnoseAgent(
  deps: { db: Db; redis: Redis },
  orgDb: ScopedClient,
  agentId: string,
  now = new Date(),
): Promise<TDiagnosis[]> {
  const agent = await orgDb.agent.findUnique({ where: { id: agentId }, include: { group: true } });
  if (!agent) return [];
  const out: TDiagnosis[] = [];
  const intervalS = agent.group.syncIntervalS;
  if (agent.disabledAt || agent.state === "disabled") {
    out.push({ code: "disabled", message: "the agent is disabled: its requests are refused" });
  }
  if (!agent.credentialHash) {
    out.push({ code: "credential_revoked", message: "the agent's credential was revoked: enrol it again" });
  }
  if (!agent.lastSeenAt) {
    out.push({
      code: "never_synced",
      message: "enrolled but never synced: check the agent can reach the controller and its logs",
    });
    return out;
  }
  const silentS = (now.getTime() - agent.lastSeenAt.getTime()) / 1000;
  if (silentS > 3 * intervalS) {
    out.push({
      code: "silent",
      message: `no sync for ${Math.round(silentS)} s (interval ${intervalS} s): the agent is down or cannot reach the controller`,
    });
  }
  const nodesExist = (await deps.db.unsafe.dataNode.count({ where: { state: "active" } })) > 0;
  if (nodesExist) {
    const node = agent.dataNodeId
      ? await deps.db.unsafe.dataNode.findUnique({ where: { id: agent.dataNodeId }, select: { state: true } })
      : null;
    if (!node || node.state === "down") {
      out.push({
        code: "no_data_node",
        message:
          "no live data node assigned yet: it is placed at the next rebalance and told at its next sync",
      });
    }
  }
  const stats = ZAgentStats.safeParse(agent.stats);
  const overload = stats.success ? stats.data.overload : undefined;
  if (stats.success) {
    // A governor that stopped capture explains the silence itself (below).
    if (stats.data.packetsPerS === 0 && overload?.step !== "capture_stopped") {
      out.push({
        code: "no_packets",
        message: "capture sees no packets: check interfaces and the BPF filter",
      });
    }
    if (stats.data.spoolBytes > 0) {
      out.push({
        code: "spooling",
        message: `${stats.data.spoolBytes} bytes waiting in the agent's spool: its data node is not taking batches`,
      });
    }
  }
  if (agent.protectiveMode) {
    const what =
      overload?.step === "capture_stopped"
        ? "capture is stopped, sync and sending go on"
        : "L7 parsing is off, flows are still counted";
    out.push({
      code: "protective_mode",
      message: overload?.reason
        ? `protective mode: ${overload.reason} (${what})`
        : "the agent hit its CPU/memory limits and sheds work to protect its host",
    });
  } else if (overload?.step === "shedding") {
    out.push({
      code: "shedding",
      message: `shedding load: ${overload.reason || "a limit of its group"} (${overload.shedPackets} packets shed, ${overload.heldRows} rows held in its spool since it started)`,
    });
  }
  if (agent.lastConfigOk === false) {
    out.push({
      code: "config_failed",
      message: `revision ${agent.lastConfigRevision} failed (${agent.lastConfigError ?? "no reason"}): it runs revision ${agent.appliedRevision}`,
    });
  }
  if (out.length === 0) {
    const rate = (await observedRowsPerSecond(deps.redis, now.getTime())).get(agentId) ?? 0;
    out.push({ code: "ok", message: `syncing; ${rate.toFixed(1)} rows/s stored over the last minute` });
  }
  return out;
}
