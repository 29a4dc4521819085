/**
 * The agent's exporter, TSV against Native, in process: `node --expose-gc --import tsx
 * apps/agent/src/controller-link/bench-exporter.ts [--pcap bench/out/real-1m.pcap] [--rows 200000]
 * [--batch 5000] [--rounds 7]`. The rows are the agent's own L4 rows of a capture (its flow engine,
 * cycled with fresh flow ids up to --rows). CPU seconds of this process per 100 k rows of:
 * - encode: `HttpExporter.encode` of every batch (the body the exporter sends);
 * - export: `HttpExporter.export` of every batch to a loopback ingest sink in another process
 *   (encode, the HTTP POST, the answer's parse: the whole send as the agent pays it; the sink's CPU is not
 *   counted);
 * - replay decode: a spool file back to rows (`decodeTsvBatch` / `decodeNativeBatch`), which a
 *   replay does before sending.
 * TSV and Native alternate within each round (the order flips every round); the best and median of
 * the rounds are printed, with the load average.
 */
import { randomUUID } from "node:crypto";
import { loadavg } from "node:os";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import type { TIngestBatch } from "@flowplane/protocol";
import { analyzeFile } from "../analyze.ts";
import { startBenchSink } from "./bench-sink.ts";
import { CredentialHolder } from "./credential.ts";
import { decodeNativeBatch, decodeTsvBatch, HttpExporter, type TIngestEncoding } from "./exporter.ts";

const { values } = parseArgs({
  options: {
    pcap: { type: "string", default: "bench/out/real-1m.pcap" },
    rows: { type: "string", default: "200000" },
    batch: { type: "string", default: "5000" },
    rounds: { type: "string", default: "7" },
  },
});
const ROWS = Number(values.rows);
const BATCH = Number(values.batch);
const ROUNDS = Number(values.rounds);

// The agent's rows: its engine on a capture, as the exporter receives them (owner columns included,
// as the engine emits them; neither encoding sends them).
const source: Record<string, unknown>[] = [];
await analyzeFile(resolve(values.pcap), {
  onL4: (r) => {
    if (source.length < ROWS) source.push(r as unknown as Record<string, unknown>);
  },
});
if (source.length === 0) throw new Error(`no L4 rows in ${values.pcap}`);
const distinct = source.length;
const agentId = randomUUID();
const batches: TIngestBatch[] = [];
let flowId = 1n << 40n;
for (let i = 0; i < ROWS; i += BATCH) {
  const rows = Array.from({ length: Math.min(BATCH, ROWS - i) }, (_, k) => ({
    ...(source[(i + k) % distinct] as Record<string, unknown>),
    flow_id: (flowId++).toString(),
  }));
  batches.push({ batchId: randomUUID(), agentId, table: "l4_flow_log", rows });
}

const sink = await startBenchSink();
const url = sink.url;

const exporters: Record<"tsv" | "native", HttpExporter> = {
  tsv: new HttpExporter({
    endpoint: () => url,
    credential: new CredentialHolder("fpa_bench"),
    encoding: "tsv",
  }),
  native: new HttpExporter({ endpoint: () => url, credential: new CredentialHolder("fpa_bench") }),
};

const gc = (globalThis as { gc?: () => void }).gc;
const per100k = (c: NodeJS.CpuUsage) => ((c.user + c.system) / 1e6) * (100_000 / ROWS);
async function cpuOf(fn: () => unknown): Promise<number> {
  gc?.();
  const c = process.cpuUsage();
  await fn();
  return per100k(process.cpuUsage(c));
}

let bodies: Record<"tsv" | "native", Buffer[]> = { tsv: [], native: [] };
const steps: [string, (e: "tsv" | "native") => Promise<unknown> | unknown][] = [
  [
    "encode",
    (e) => {
      bodies[e] = batches.map((b) => exporters[e].encode(b, e as TIngestEncoding).body as Buffer);
    },
  ],
  [
    "export",
    async (e) => {
      for (const b of batches) {
        const r = await exporters[e].export(b);
        if (r.code !== "success") throw new Error(`export: ${r.code}`);
      }
    },
  ],
  ["replay decode", (e) => bodies[e].map((b) => (e === "tsv" ? decodeTsvBatch(b) : decodeNativeBatch(b)))],
];

const results = new Map<string, number[]>();
for (let round = 0; round < ROUNDS; round++) {
  const order: ("tsv" | "native")[] = round % 2 === 0 ? ["tsv", "native"] : ["native", "tsv"];
  for (const [name, fn] of steps) {
    for (const e of order) {
      const key = `${name}|${e}`;
      const s = await cpuOf(() => fn(e));
      results.set(key, [...(results.get(key) ?? []), s]);
    }
  }
}
bodies = { tsv: bodies.tsv, native: bodies.native };
const bytes = (e: "tsv" | "native") => bodies[e].reduce((n, b) => n + b.length, 0) / ROWS;
sink.stop();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const f = (x: number) => x.toFixed(3);
console.log(
  `${values.pcap}: ${ROWS} L4 rows (${distinct} distinct from the capture) in batches of ${BATCH}, ${ROUNDS} rounds, load ${loadavg()
    .map((l) => l.toFixed(1))
    .join(" ")}`,
);
console.log("CPU s per 100 k rows: best / median (every round)");
for (const [name] of steps) {
  for (const e of ["tsv", "native"] as const) {
    const xs = results.get(`${name}|${e}`) ?? [];
    console.log(
      `  ${`${name}, ${e}`.padEnd(22)} ${f(Math.min(...xs))} / ${f(median(xs))}   (${xs.map(f).join(" ")})`,
    );
  }
}
console.log(
  `bytes per row on the wire: tsv ${bytes("tsv").toFixed(1)}, native ${bytes("native").toFixed(1)}`,
);
