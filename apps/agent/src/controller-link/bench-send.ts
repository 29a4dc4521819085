/**
 * The agent's send path alone, as the ingest bench's sender pays it: `node --expose-gc --import tsx
 * apps/agent/src/controller-link/bench-send.ts [--http path/to/http.ts] [--rows 100000] [--batch 5000]
 * [--rounds 5] [--concurrency 2]`. Native bodies of the ingest bench's L4 rows (bench-rows.ts) are encoded first; then each
 * round POSTs every body with `postBody` (the exporter's HTTP call and the answer's check) to a
 * loopback sink in another process. Prints this process's CPU seconds per 100 k rows for each round
 * (the sink's CPU is not counted). `--http` loads another http.ts (an older copy) for A/B runs.
 */
import { randomUUID } from "node:crypto";
import { loadavg } from "node:os";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { ZIngestResponse } from "@flowplane/protocol";
// The ingest bench's own rows (the same bodies its sender posts).
import { l4Row } from "../../../controller/src/ingest/bench-rows.ts";
import { startBenchSink } from "./bench-sink.ts";
import { encodeNativeBatch, makeBatch } from "./exporter.ts";
import * as current from "./http.ts";

const { values } = parseArgs({
  options: {
    http: { type: "string" },
    rows: { type: "string", default: "100000" },
    batch: { type: "string", default: "5000" },
    rounds: { type: "string", default: "5" },
    concurrency: { type: "string", default: "2" },
  },
});
const ROWS = Number(values.rows);
const BATCH = Number(values.batch);
const http: typeof current = values.http ? await import(pathToFileURL(values.http).href) : current;

const agentId = randomUUID();
const NOW_US = Date.now() * 1000;
const bodies: Buffer[] = [];
for (let s = 0; s < ROWS; s += BATCH) {
  const rows: Record<string, unknown>[] = [];
  for (let i = s; i < Math.min(ROWS, s + BATCH); i++) rows.push(l4Row(i, NOW_US));
  bodies.push(encodeNativeBatch(makeBatch(agentId, "l4_flow_log", rows)));
}

const sink = await startBenchSink();
const url = `${sink.url}/v1/ingest`;
const opts = { headers: { authorization: "Bearer fpa_bench" }, timeoutMs: 10_000 };

async function round(): Promise<number> {
  (globalThis as { gc?: () => void }).gc?.();
  let next = 0;
  const c = process.cpuUsage();
  await Promise.all(
    Array.from({ length: Number(values.concurrency) }, async () => {
      while (next < bodies.length) {
        const b = bodies[next++] as Buffer;
        await http.postBody(url, b, "application/vnd.flowplane.ingest+native", ZIngestResponse, opts);
      }
    }),
  );
  const u = process.cpuUsage(c);
  return ((u.user + u.system) / 1e6) * (100_000 / ROWS);
}
await round(); // warm-up
const xs: number[] = [];
for (let i = 0; i < Number(values.rounds); i++) xs.push(await round());
sink.stop();
const mb = bodies.reduce((n, b) => n + b.length, 0) / bodies.length / 1e6;
console.log(
  JSON.stringify({
    http: values.http ?? "current",
    perBatchMB: Number(mb.toFixed(2)),
    cpuPer100k: xs.map((x) => Number(x.toFixed(4))),
    load: loadavg()[0]?.toFixed(1),
  }),
);
