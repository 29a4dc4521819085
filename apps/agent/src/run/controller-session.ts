/**
 * `run --controller`: the agent's life with a controller. Enrols once (or reuses the identity
 * saved in the state directory), keeps the SyncLoop running (configuration revisions applied and
 * reported, heartbeat with stats), and gives `run` an `ExportSink` that turns the exporter's
 * batches into ingest batches per table, sent through HttpExporter to the assigned data node (or
 * the controller) with a bounded disk spool behind it.
 */
import { hostname, networkInterfaces, release } from "node:os";
import { join } from "node:path";
import type { TAgentConfig, TAgentStats, TIngestTable } from "@flowplane/protocol";
import { CredentialHolder } from "../controller-link/credential.ts";
import type { ControllerError } from "../controller-link/errors.ts";
import { HttpExporter, makeBatch } from "../controller-link/exporter.ts";
import { loadOrEnroll, saveLinkState, type TLinkState } from "../controller-link/link-state.ts";
import { DiskSpool, SpoolingSender } from "../controller-link/spool.ts";
import { SyncLoop } from "../controller-link/sync-loop.ts";
import type { FlowTimeouts } from "../flow/flow-engine.ts";
import type { Governor, TLimits } from "../limits/governor.ts";
import { GatedHttpExporter } from "../limits/send-gate.ts";
import type { NpbRuntime } from "../npb/runtime.ts";
import type { ExportRecord, ExportResult, ExportSink } from "./exporter.ts";

export const AGENT_VERSION = "0.1.0";
const SPOOL_MAX_BYTES = 256 * 1024 * 1024;
/** Rows per ingest batch: well under the controller's 50 000-row / 8 MiB limits. */
const MAX_ROWS_PER_BATCH = 5_000;

/** What `run` lets the controller change while it runs. */
export interface ConfigTarget {
  setTimeouts(t: Partial<FlowTimeouts>): void;
  /** Switches L7 parsing on/off; absent when this run has no L7 processor. */
  setL7Enabled?(on: boolean): void;
  /** The group's overload limits, applied at once (docs/overload-limits.md). */
  setLimits?(limits: TLimits): void;
  /** The group's `npb.dedup`: both packet-broker deduplication rules on/off. */
  setNpbDedup?(on: boolean): void;
}

/** Maps a group configuration onto the engine. Throws (the revision is reported failed) when it cannot. */
export function applyAgentConfig(config: TAgentConfig, target: ConfigTarget): void {
  const t = config.flowTimeouts;
  if (t.tcpClosingS > t.tcpEstablishedS) {
    throw new Error(
      `flowTimeouts.tcpClosingS (${t.tcpClosingS}) above tcpEstablishedS (${t.tcpEstablishedS})`,
    );
  }
  target.setTimeouts(configTimeouts(config));
  target.setL7Enabled?.(config.l7.protocols.length > 0);
  target.setLimits?.(config.limits);
  target.setNpbDedup?.(config.npb.dedup);
}

export function configTimeouts(config: TAgentConfig): Partial<FlowTimeouts> {
  const t = config.flowTimeouts;
  return {
    tcpOpening: t.tcpOpeningS,
    tcpEstablished: t.tcpEstablishedS,
    tcpClosing: t.tcpClosingS,
    udp: t.udpS,
    other: t.otherS,
  };
}

export interface SessionStats {
  packets: number;
  bytes: number;
  flows: number;
  drops: number;
}

export interface ControllerSessionOptions {
  controllerUrl: string;
  token?: string;
  stateDir: string;
  target: ConfigTarget;
  stats: () => SessionStats;
  onFatal: (err: ControllerError) => void;
  log: (line: string) => void;
  /** Overload governor: its step is the heartbeat's run state, its counters go with the stats; it gates sends. */
  governor?: Governor;
  /** Packet broker: gets the synced policies and map, reports its counters in the heartbeat. */
  npb?: NpbRuntime;
  /** Host addresses to report instead of this host's interface addresses (`run --host-ip`). */
  hostIps?: string[];
}

export interface ControllerSession {
  identity: TLinkState;
  sink: ExportSink;
  syncLoop: SyncLoop;
  spool: DiskSpool;
  /** Starts the loop after a first check-in, so the group's configuration is applied before packets flow. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

function localIps(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (!a.internal) out.push(a.address);
  }
  return out.slice(0, 16);
}

export async function openControllerSession(o: ControllerSessionOptions): Promise<ControllerSession> {
  const stateFile = join(o.stateDir, "agent.json");
  const { mkdir } = await import("node:fs/promises");
  await mkdir(o.stateDir, { recursive: true, mode: 0o700 });
  const identity = await loadOrEnroll({
    stateFile,
    controllerUrl: o.controllerUrl,
    ...(o.token ? { enrollmentToken: o.token } : {}),
    hostname: hostname(),
    ips: o.hostIps ?? localIps(),
    agentVersion: AGENT_VERSION,
    os: `${process.platform} ${release()} ${process.arch}`,
  });
  const credential = new CredentialHolder(identity.credential, (c) =>
    saveLinkState(stateFile, { ...identity, credential: c }),
  );
  const spool = await DiskSpool.open(join(o.stateDir, "spool"), SPOOL_MAX_BYTES);

  let last = { at: Date.now(), packets: 0, bytes: 0 };
  let cpuLast = process.cpuUsage();
  const agentStats = (): TAgentStats => {
    const s = o.stats();
    const now = Date.now();
    const dt = Math.max(0.001, (now - last.at) / 1000);
    const cpu = process.cpuUsage(cpuLast);
    cpuLast = process.cpuUsage();
    const out: TAgentStats = {
      cpuPct: Math.min(100 * 1024, ((cpu.user + cpu.system) / 1e6 / dt) * 100),
      memBytes: process.memoryUsage().rss,
      packetsPerS: Math.max(0, (s.packets - last.packets) / dt),
      bytesPerS: Math.max(0, (s.bytes - last.bytes) / dt),
      drops: s.drops,
      flows: s.flows,
      spoolBytes: spool.bytes,
      version: AGENT_VERSION,
      ...(o.governor ? { overload: o.governor.report() } : {}),
    };
    last = { at: now, packets: s.packets, bytes: s.bytes };
    return out;
  };

  let state: "starting" | "running" | "stopping" = "starting";
  const syncLoop: SyncLoop = new SyncLoop({
    controllerUrl: o.controllerUrl,
    agentId: identity.agentId,
    credential,
    stats: agentStats,
    runState: () => (state === "running" && o.governor ? o.governor.runState : state),
    applyConfig: async (config, revision) => {
      applyAgentConfig(config, o.target);
      o.log(`applied configuration revision ${revision}`);
    },
    onFatal: o.onFatal,
    extra: () => {
      const counters = o.npb?.report();
      return {
        hostIps: o.hostIps ?? localIps(),
        ...(o.npb ? { npbRevision: o.npb.revision } : {}),
        ...(counters ? { npbCounters: counters } : {}),
      };
    },
    onAnswer: (res, sent) => {
      if (!o.npb) return;
      if (res.npb) o.npb.apply(res.npb);
      if (sent.npbCounters && res.npbCountersAccepted) o.npb.accepted(sent.npbCounters);
    },
  });
  const httpOptions = { endpoint: () => syncLoop.ingestUrl, credential, deadlineMs: 10_000 };
  const gated = o.governor ? new GatedHttpExporter(httpOptions, o.governor) : undefined;
  const http = gated ?? new HttpExporter(httpOptions);
  const sender = new SpoolingSender(http, spool);

  // One delivery at a time (the BatchingExporter is single-flight; the spool replay timer joins
  // the same chain), so a spooled batch is never replayed by two callers at once.
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const p = chain.then(fn, fn);
    chain = p.catch(() => {});
    return p;
  };

  const sink: ExportSink = {
    export: (batch: ExportRecord[]) =>
      serial(async (): Promise<ExportResult> => {
        if (spool.size > 0) await sender.flush();
        const byTable = new Map<TIngestTable, Record<string, unknown>[]>();
        for (const r of batch) {
          let rows = byTable.get(r.table);
          if (!rows) {
            rows = [];
            byTable.set(r.table, rows);
          }
          rows.push(r.row);
        }
        let result: ExportResult = "success";
        for (const [table, rows] of byTable) {
          const per = o.governor?.sendBatchRows(MAX_ROWS_PER_BATCH) ?? MAX_ROWS_PER_BATCH;
          for (let i = 0; i < rows.length; i += per) {
            const b = makeBatch(identity.agentId, table, rows.slice(i, i + per));
            // Queued in the spool behind batches the send-rate limit holds: held as well.
            if (gated?.holding && spool.size > 0) gated.queuedBehindHeld(b);
            const r = await sender.send(b);
            // "spooled" is delivered as far as the packet path is concerned: the spool owns it now.
            if (r.code === "failure") {
              o.log(`batch of ${table} refused: ${r.error.message}`);
              result = "failure";
            }
          }
        }
        return result;
      }),
    close: () =>
      serial(async () => {
        const r = await sender.flush();
        if (r.pending > 0) o.log(`${r.pending} batch(es) left in the spool for the next start`);
      }),
  };

  let replayTimer: NodeJS.Timeout | undefined;
  return {
    identity,
    sink,
    syncLoop,
    spool,
    async start() {
      await syncLoop.tick();
      state = "running";
      syncLoop.start();
      replayTimer = setInterval(() => {
        if (spool.size > 0) void serial(() => sender.flush());
      }, 5_000);
      replayTimer.unref();
    },
    async stop() {
      if (replayTimer) clearInterval(replayTimer);
      state = "stopping";
      await syncLoop.stop();
      // A last check-in so the controller sees the agent stopping rather than going silent.
      await syncLoop.tick().catch(() => null);
    },
  };
}
