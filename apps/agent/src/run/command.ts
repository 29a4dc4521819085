/**
 * `flowplane-agent run`: the live pipeline, fed by an interface (libpcap) or by a capture file
 * replayed as if it were arriving now. With `--controller` it enrols (or reuses the identity in
 * `--state-dir`), syncs its configuration and sends its rows to the ingest endpoint
 * (controller-session.ts); with `--out` it (also) appends them to JSONL files.
 * Ctrl-C (SIGINT) or SIGTERM stops the input, reports every open flow, flushes, exits 0.
 */
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { basename, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { z } from "zod";
import { NIL_UUID } from "../flow/flow-engine.ts";
import { governPipeline } from "../limits/governed-pipeline.ts";
import { CAPTURE_STOPPED, Governor } from "../limits/governor.ts";
import { driveGovernor } from "../limits/meter.ts";
import { NpbRuntime } from "../npb/runtime.ts";
import { type ControllerSession, openControllerSession } from "./controller-session.ts";
import { BatchingExporter, type ExportRecord, type ExportResult, type ExportSink } from "./exporter.ts";
import { JsonlSink } from "./jsonl-sink.ts";
import { parseSpeed, replayCapture } from "./pcap-replay.ts";
import { createPipeline } from "./pipeline.ts";

const Args = z
  .object({
    interface: z.string().min(1).optional(),
    pcap: z.string().min(1).optional(),
    bpf: z.string().default(""),
    speed: z.string().default("1x"),
    loop: z.boolean().default(false),
    controller: z.url().optional(),
    token: z.string().min(1).optional(),
    out: z.string().min(1).optional(),
    stateDir: z.string().min(1).optional(),
    name: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/)
      .optional(),
    orgId: z.uuid().default(NIL_UUID),
    agentId: z.uuid().default(NIL_UUID),
    maxFlows: z.coerce.number().int().min(16).default(1_000_000),
    vxlanPort: z.coerce.number().int().min(1).max(65535).default(4789),
    noL7: z.boolean().default(false),
    hostIp: z.array(z.union([z.ipv4(), z.ipv6()])).optional(),
    noNpbDedup: z.boolean().default(false),
  })
  .refine((a) => (a.interface === undefined) !== (a.pcap === undefined), {
    message: "give exactly one of --interface or --pcap",
    path: ["interface"],
  })
  .refine((a) => a.out !== undefined || a.controller !== undefined, {
    message: "give --controller <url> --token <t>, or --out <dir>",
    path: ["out"],
  })
  .refine((a) => a.controller !== undefined || a.token === undefined, {
    message: "--token needs --controller",
    path: ["token"],
  });

const fail = (msg: string, code = 2): number => {
  process.stderr.write(`flowplane-agent run: ${msg}\n`);
  return code;
};

export async function runCommand(argv: string[]): Promise<number> {
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        interface: { type: "string", short: "i" },
        pcap: { type: "string", short: "r" },
        bpf: { type: "string" },
        speed: { type: "string" },
        loop: { type: "boolean" },
        controller: { type: "string" },
        token: { type: "string" },
        out: { type: "string", short: "o" },
        "state-dir": { type: "string" },
        name: { type: "string" },
        "org-id": { type: "string" },
        "agent-id": { type: "string" },
        "max-flows": { type: "string" },
        "vxlan-port": { type: "string" },
        "no-l7": { type: "boolean" },
        // Addresses of the host this agent stands for (default: its interfaces' addresses); the
        // controller's designated map of the packet broker is built from them.
        "host-ip": { type: "string", multiple: true },
        "no-npb-dedup": { type: "boolean" },
      },
    }));
  } catch (err) {
    return fail((err as Error).message);
  }
  const parsed = Args.safeParse({
    ...values,
    stateDir: values["state-dir"],
    orgId: values["org-id"],
    agentId: values["agent-id"],
    maxFlows: values["max-flows"],
    vxlanPort: values["vxlan-port"],
    noL7: values["no-l7"],
    hostIp: (values["host-ip"] as unknown as string[] | undefined)?.flatMap((v) => v.split(",")),
    noNpbDedup: values["no-npb-dedup"],
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return fail(`invalid ${issue?.path.join(".") || "arguments"}: ${issue?.message}`);
  }
  const a = parsed.data;
  const speed = parseSpeed(a.speed);
  if (!speed) return fail(`invalid speed "${a.speed}" (1x, 10x, 0.5x or max)`);
  if (a.pcap && !existsSync(a.pcap)) return fail(`no such file: ${a.pcap}`);

  // The engine is created after enrolment (rows carry the agent's org and id), but the session
  // needs somewhere to apply configuration at its first check-in: a late-bound target.
  let pipelineRef: ReturnType<typeof createPipeline> | undefined;
  // Live capture's kernel counters (pcap_stats) join the heartbeat's drops.
  let kernelDrops = (): number => 0;
  let pendingTimeouts: Parameters<ReturnType<typeof createPipeline>["setTimeouts"]>[0] | undefined;
  let session: ControllerSession | undefined;
  let fatal: string | undefined;
  const stopInput = new AbortController();
  // Overload limits come from the group's configuration: only a run with a controller has them.
  const governor = a.controller ? new Governor(undefined) : undefined;
  // Packet broker: forwards per the policies the controller syncs (none until it sends some).
  const npb = a.controller
    ? new NpbRuntime({
        agentId: () => session?.identity.agentId ?? a.agentId,
        interfaces: [a.interface ?? basename(a.pcap ?? "pcap")],
        dedup: !a.noNpbDedup,
        ...(a.hostIp?.find((ip) => ip.includes("."))
          ? { sourceAddress: a.hostIp.find((ip) => ip.includes(".")) }
          : {}),
        log: (line) => process.stderr.write(`flowplane-agent run: ${line}\n`),
      })
    : undefined;
  if (a.controller) {
    const stateDir =
      a.stateDir ?? (a.name ? resolve(".data", `agent-${a.name}`) : join(homedir(), ".flowplane-agent"));
    try {
      session = await openControllerSession({
        controllerUrl: a.controller,
        ...(a.token ? { token: a.token } : {}),
        stateDir,
        target: {
          setTimeouts: (t) => {
            if (pipelineRef) pipelineRef.setTimeouts(t);
            else pendingTimeouts = t;
          },
          setL7Enabled: (on) => pipelineRef?.setL7Enabled(on && !a.noL7),
          setLimits: (limits) => governor?.setLimits(limits),
          setNpbDedup: (on) => npb?.setDedup(on && !a.noNpbDedup),
        },
        ...(governor ? { governor } : {}),
        ...(npb ? { npb } : {}),
        ...(a.hostIp ? { hostIps: a.hostIp } : {}),
        stats: () => {
          const s = pipelineRef?.stats();
          return {
            packets: s?.packets ?? 0,
            bytes: s?.bytes ?? 0,
            flows: s?.activeFlows ?? 0,
            // rows the exporter dropped + packets the kernel dropped before the agent read them
            drops: (exporter?.stats().dropped ?? 0) + kernelDrops(),
          };
        },
        onFatal: (err) => {
          fatal = err.message;
          process.stderr.write(`flowplane-agent run: controller refused this agent: ${err.message}\n`);
          stopInput.abort();
        },
        log: (line) => process.stderr.write(`flowplane-agent run: ${line}\n`),
      });
    } catch (err) {
      return fail(`cannot join the controller at ${a.controller}: ${(err as Error).message}`, 1);
    }
    process.stderr.write(
      `flowplane-agent run: agent ${session.identity.agentId} of org ${session.identity.orgId} (state in ${stateDir})\n`,
    );
  }
  const sinks: ExportSink[] = [];
  if (session) sinks.push(session.sink);
  if (a.out) sinks.push(new JsonlSink(a.out));
  const exporter: BatchingExporter = new BatchingExporter(
    sinks.length === 1 ? (sinks[0] as ExportSink) : teeSink(sinks),
    {
      batchSize: 5_000,
    },
  );
  const inner = createPipeline({
    exporter,
    orgId: session?.identity.orgId ?? a.orgId,
    agentId: session?.identity.agentId ?? a.agentId,
    maxFlows: a.maxFlows,
    vxlanPort: a.vxlanPort,
    l7: !a.noL7,
    // at max speed packet times run ahead of the wall clock: the packets drive the clock
    wallClockTicks: !(a.pcap && speed.kind === "max"),
    ...(npb ? { npb } : {}),
  });
  const pipeline = governor ? governPipeline(inner, governor, { l7: !a.noL7 }) : inner;
  pipelineRef = pipeline;
  if (pendingTimeouts) pipeline.setTimeouts(pendingTimeouts);
  if (session) await session.start();
  const stopGovernor = governor ? driveGovernor(governor) : undefined;

  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
    stopInput.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const started = performance.now();
  try {
    if (a.pcap) {
      const r = await replayCapture(a.pcap, pipeline, {
        speed,
        loop: a.loop,
        signal: stopInput.signal,
        paused: () => governor?.level === CAPTURE_STOPPED,
      });
      summary(`replayed ${r.packets} packets in ${r.loops} pass(es)${interrupted ? " (interrupted)" : ""}`);
    } else {
      const { startLiveCapture, LiveCaptureError } = await import("../live/live-capture.ts");
      let live: import("../live/live-capture.ts").LiveCapture;
      try {
        live = startLiveCapture(a.interface as string, a.bpf, pipeline, {
          // The interface went away or libpcap failed: flush what was seen, exit non-zero.
          onError: (line) => {
            fatal = line;
            process.stderr.write(`flowplane-agent run: ${line}\n`);
            stopInput.abort();
          },
        });
        kernelDrops = () => {
          const k = live.kernelStats();
          return k ? k.dropped + k.ifDropped : 0;
        };
      } catch (err) {
        await pipeline.stop();
        if (err instanceof LiveCaptureError) return fail(err.message, 1);
        throw err;
      }
      process.stderr.write(
        `flowplane-agent run: capturing on ${a.interface}${a.bpf ? ` (${a.bpf})` : ""} via ${live.backend === "cap" ? `cap (${live.note})` : "the libpcap addon"}, Ctrl-C to stop\n`,
      );
      await new Promise<void>((resolve) =>
        stopInput.signal.addEventListener("abort", () => resolve(), { once: true }),
      );
      live.stop();
      const k = live.kernelStats();
      if (k)
        summary(
          `kernel: received ${k.received}, dropped ${k.dropped}, dropped by the interface ${k.ifDropped}`,
        );
    }
    const stats = await pipeline.stop();
    // Queued copies go out before the last check-in reports the counters.
    await npb?.close();
    stopGovernor?.();
    await session?.stop();
    const brokered = npb?.stats();
    if (brokered && brokered.policies.length > 0) {
      const sum = (k: "matched" | "sent" | "deduplicated" | "notDesignated") =>
        brokered.policies.reduce((n, p) => n + p[k], 0);
      summary(
        `packet broker: matched ${sum("matched")}, sent ${sum("sent")}, deduplicated ${sum("deduplicated")}, left to other agents ${sum("notDesignated")}, send ring drops ${brokered.sender?.dropped ?? 0}`,
      );
    }
    const ex = exporter.stats();
    summary(
      `packets ${stats.packets}, flows ${stats.flowsCreated}, decode errors ${stats.decodeErrors}, rows exported ${ex.exported}, dropped ${ex.dropped}, ${((performance.now() - started) / 1000).toFixed(2)} s`,
    );
    if (fatal) return 1;
    return ex.dropped > 0 && !interrupted ? 1 : 0;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

/** Every sink gets every batch; the worst outcome wins (a retry resends to all: JSONL may duplicate). */
function teeSink(sinks: ExportSink[]): ExportSink {
  return {
    async export(batch: ExportRecord[]): Promise<ExportResult> {
      const rs = await Promise.all(sinks.map((s) => s.export(batch)));
      return rs.includes("retryable") ? "retryable" : rs.includes("failure") ? "failure" : "success";
    },
    async close() {
      for (const s of sinks) await s.close?.();
    },
  };
}

function summary(line: string): void {
  process.stdout.write(`flowplane-agent run: ${line}\n`);
}

/** The name cli.ts loads lazily for the `run` subcommand. */
export const main = runCommand;
