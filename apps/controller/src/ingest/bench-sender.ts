/**
 * The agents' side of the ingest bench (bench-ingest.ts), in its own process: builds the batches,
 * then sends them with the agent's HttpExporter, `concurrency` at a time. Prints one JSON line:
 * rows accepted, seconds from the first send to the last answer, and this process's CPU seconds.
 */
import { CredentialHolder, HttpExporter, makeBatch } from "../../../agent/src/controller-link/index.ts";
import { l4Row } from "./bench-rows.ts";

const a = JSON.parse(process.env.BENCH_SENDER ?? "{}") as {
  url: string;
  credential: string;
  agentId: string;
  rows: number;
  batch: number;
  concurrency: number;
  nowUs: number;
  /** The agent's wire encoding (default: the exporter's, the compact one). */
  encoding?: "tsv" | "json";
};
const exporter = new HttpExporter({
  endpoint: () => a.url,
  credential: new CredentialHolder(a.credential),
  deadlineMs: 120_000,
  ...(a.encoding ? { encoding: a.encoding } : {}),
});
const batches: ReturnType<typeof makeBatch>[] = [];
for (let start = 0; start < a.rows; start += a.batch) {
  const rows: ReturnType<typeof l4Row>[] = [];
  for (let i = start; i < Math.min(a.rows, start + a.batch); i++) rows.push(l4Row(i, a.nowUs));
  batches.push(makeBatch(a.agentId, "l4_flow_log", rows));
}
// Warm-up (JIT, connections, first parts) on a separate batch, not counted.
await exporter.export(makeBatch(a.agentId, "l4_flow_log", [l4Row(a.rows + 1, a.nowUs)]));

let next = 0;
let accepted = 0;
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
process.stdout.write(`${JSON.stringify({ accepted, seconds, cpuS: (cpu.user + cpu.system) / 1e6 })}\n`);
