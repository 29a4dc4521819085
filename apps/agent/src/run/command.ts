/**
 * `flowplane-agent run`: the live pipeline, fed by an interface (libpcap) or by a capture file
 * replayed as if it were arriving now. Until the controller exists rows go to JSONL files in
 * `--out`; `--controller`/`--token` are accepted and validated so scripts can already pass them.
 * Ctrl-C (SIGINT) or SIGTERM stops the input, reports every open flow, flushes, exits 0.
 */
import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import { z } from "zod";
import { NIL_UUID } from "../flow/flow-engine.ts";
import { BatchingExporter } from "./exporter.ts";
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
    orgId: z.uuid().default(NIL_UUID),
    agentId: z.uuid().default(NIL_UUID),
    maxFlows: z.coerce.number().int().min(16).default(1_000_000),
    vxlanPort: z.coerce.number().int().min(1).max(65535).default(4789),
  })
  .refine((a) => (a.interface === undefined) !== (a.pcap === undefined), {
    message: "give exactly one of --interface or --pcap",
    path: ["interface"],
  })
  .refine((a) => a.out !== undefined || a.controller !== undefined, {
    message: "give --out <dir> (the controller exporter comes with the controller)",
    path: ["out"],
  })
  .refine((a) => (a.controller === undefined) === (a.token === undefined), {
    message: "--controller and --token go together",
    path: ["token"],
  });

const fail = (msg: string, code = 2): number => {
  process.stderr.write(`flowplane-agent run: ${msg}\n`);
  return code;
};

export async function runCommand(argv: string[]): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
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
        "org-id": { type: "string" },
        "agent-id": { type: "string" },
        "max-flows": { type: "string" },
        "vxlan-port": { type: "string" },
      },
    }));
  } catch (err) {
    return fail((err as Error).message);
  }
  const parsed = Args.safeParse({
    ...values,
    orgId: values["org-id"],
    agentId: values["agent-id"],
    maxFlows: values["max-flows"],
    vxlanPort: values["vxlan-port"],
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return fail(`invalid ${issue?.path.join(".") || "arguments"}: ${issue?.message}`);
  }
  const a = parsed.data;
  if (!a.out) return fail("the controller exporter is not there yet: give --out <dir>");
  const speed = parseSpeed(a.speed);
  if (!speed) return fail(`invalid speed "${a.speed}" (1x, 10x, 0.5x or max)`);
  if (a.pcap && !existsSync(a.pcap)) return fail(`no such file: ${a.pcap}`);

  const exporter = new BatchingExporter(new JsonlSink(a.out));
  const pipeline = createPipeline({
    exporter,
    orgId: a.orgId,
    agentId: a.agentId,
    maxFlows: a.maxFlows,
    vxlanPort: a.vxlanPort,
    // at max speed packet times run ahead of the wall clock: the packets drive the clock
    wallClockTicks: !(a.pcap && speed.kind === "max"),
  });
  const stopInput = new AbortController();
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
      const r = await replayCapture(a.pcap, pipeline, { speed, loop: a.loop, signal: stopInput.signal });
      summary(`replayed ${r.packets} packets in ${r.loops} pass(es)${interrupted ? " (interrupted)" : ""}`);
    } else {
      const { startLiveCapture, LiveCaptureError } = await import("../live/live-capture.ts");
      let live: { stop(): void };
      try {
        live = startLiveCapture(a.interface as string, a.bpf, pipeline);
      } catch (err) {
        await pipeline.stop();
        if (err instanceof LiveCaptureError) return fail(err.message, 1);
        throw err;
      }
      process.stderr.write(
        `flowplane-agent run: capturing on ${a.interface}${a.bpf ? ` (${a.bpf})` : ""}, Ctrl-C to stop\n`,
      );
      await new Promise<void>((resolve) =>
        stopInput.signal.addEventListener("abort", () => resolve(), { once: true }),
      );
      live.stop();
    }
    const stats = await pipeline.stop();
    const ex = exporter.stats();
    summary(
      `packets ${stats.packets}, flows ${stats.flowsCreated}, decode errors ${stats.decodeErrors}, rows exported ${ex.exported}, dropped ${ex.dropped}, ${((performance.now() - started) / 1000).toFixed(2)} s`,
    );
    return ex.dropped > 0 && !interrupted ? 1 : 0;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

function summary(line: string): void {
  process.stdout.write(`flowplane-agent run: ${line}\n`);
}

/** The name cli.ts loads lazily for the `run` subcommand. */
export const main = runCommand;
