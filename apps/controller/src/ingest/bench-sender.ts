/**
 * The agents' side of the ingest bench (bench-ingest.ts), in its own process: builds and encodes
 * the batches, then sends them with the agent's HttpExporter, `concurrency` at a time. Prints one
 * JSON line: rows accepted, seconds from the first send to the last answer, and this process's CPU
 * seconds in that window.
 *
 * The sender stands for agents on other hosts: building and encoding their rows is their CPU, not
 * the ingest node's. So every batch body is encoded before the timed window (the exporter's own
 * encoder, `encodeTsvBatch`, `encodeNativeBatch` for `native`, or `JSON.stringify` for `json`), and the window holds what remains
 * of an export: the exporter's retry loop and backoff, its HTTP send and the answer's checks, the
 * batch ids fixed at `makeBatch`.
 */
import { readFileSync } from "node:fs";
import { INGEST_NATIVE_CONTENT_TYPE, INGEST_TSV_CONTENT_TYPE, type TIngestBatch } from "@flowplane/protocol";
import {
  encodeNativeBatch,
  encodeTsvBatch,
  type TEncodedBatch,
} from "../../../agent/src/controller-link/exporter.ts";
import {
  CredentialHolder,
  HttpExporter,
  makeBatch,
  type TExportResult,
  type THttpExporterOptions,
} from "../../../agent/src/controller-link/index.ts";
import { l4Row } from "./bench-rows.ts";
import { WINDOW_LINE } from "./bench-sender-run.ts";

const a = JSON.parse(process.env.BENCH_SENDER ?? "{}") as {
  url: string;
  credential: string;
  agentId: string;
  rows: number;
  batch: number;
  concurrency: number;
  nowUs: number;
  /** Full batches sent before the timed window (default 8). */
  warmupBatches?: number;
  /** The agent's wire encoding (default: the exporter's). */
  encoding?: "tsv" | "json" | "native";
};

/**
 * The exporter with one attempt's body taken from `bodies` when the batch has one there: its
 * `export()` (retries, backoff, deadline, counters) is the agent's own, and so is an attempt's POST
 * and classification (`postOnce`). Batches without a body go the usual way.
 */
class PreEncodedExporter extends HttpExporter {
  constructor(
    opts: THttpExporterOptions,
    private readonly bodies: WeakMap<TIngestBatch, TEncodedBatch>,
  ) {
    super(opts);
  }

  override async exportOnce(batch: TIngestBatch): Promise<TExportResult> {
    const pre = this.bodies.get(batch);
    if (!pre) return super.exportOnce(batch);
    return this.postOnce(() => pre);
  }
}

const credential = new CredentialHolder(a.credential);
const bodies = new WeakMap<TIngestBatch, TEncodedBatch>();
const exporter = new PreEncodedExporter(
  {
    endpoint: () => a.url,
    credential,
    deadlineMs: 120_000,
    ...(a.encoding ? { encoding: a.encoding } : {}),
  },
  bodies,
);
const batches: TIngestBatch[] = [];
for (let start = 0; start < a.rows; start += a.batch) {
  const rows: ReturnType<typeof l4Row>[] = [];
  for (let i = start; i < Math.min(a.rows, start + a.batch); i++) rows.push(l4Row(i, a.nowUs));
  const batch = makeBatch(a.agentId, "l4_flow_log", rows);
  bodies.set(
    batch,
    a.encoding === "json"
      ? { body: JSON.stringify(batch), contentType: "application/json" }
      : a.encoding === "native"
        ? { body: encodeNativeBatch(batch), contentType: INGEST_NATIVE_CONTENT_TYPE }
        : { body: encodeTsvBatch(batch), contentType: INGEST_TSV_CONTENT_TYPE },
  );
  batches.push(batch);
}
// Warm-up, not counted: `warmupBatches` full batches of other rows (flow ids past the run's), sent
// as the run sends, then a pause. The ceiling is measured on an engine that has just taken these
// very rows (its staging insert), so the ingest path gets the same: the controller's code compiled
// for full blocks, the store's memory and the first parts of the day's partition in place.
const warmup: TIngestBatch[] = [];
for (let w = 0; w < Math.max(1, a.warmupBatches ?? 8); w++) {
  const rows: ReturnType<typeof l4Row>[] = [];
  for (let i = 0; i < a.batch; i++) rows.push(l4Row(a.rows + w * a.batch + i, a.nowUs));
  warmup.push(makeBatch(a.agentId, "l4_flow_log", rows));
}
await Promise.all(warmup.map((b) => exporter.export(b)));
await new Promise((r) => setTimeout(r, 1000));

let next = 0;
let accepted = 0;
process.stdout.write(`${WINDOW_LINE}\n`);
const m0 = machineJiffies();
const c0 = process.cpuUsage();
const t0 = performance.now();
await Promise.all(
  Array.from({ length: a.concurrency }, async () => {
    while (next < batches.length) {
      const b = batches[next++];
      if (!b) break;
      const r = await exporter.export(b);
      if (r.code !== "success")
        throw new Error(`batch ${b.batchId}: ${r.code} ${"error" in r ? r.error.message : ""}`);
      accepted += r.response.accepted;
    }
  }),
);
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(c0);
const m1 = machineJiffies();
// Cores busy over the window, every process on the machine: near the core count, the pipeline is
// CPU-bound; well below it, it waits (on a stage, the network, a lock).
const busyCores = ((m1.busy - m0.busy) / (m1.busy - m0.busy + m1.idle - m0.idle)) * m1.cores;
process.stdout.write(
  `${JSON.stringify({ accepted, seconds, cpuS: (cpu.user + cpu.system) / 1e6, busyCores })}\n`,
);

/** The machine's busy and idle jiffies so far, all cores (Linux /proc/stat). */
function machineJiffies(): { busy: number; idle: number; cores: number } {
  const lines = readFileSync("/proc/stat", "utf8").split("\n");
  const f = (lines[0] ?? "").trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = f;
  const cores = lines.filter((l) => /^cpu\d/.test(l)).length;
  return { busy: user + nice + system + irq + softirq + steal, idle: idle + iowait, cores };
}
