/**
 * The ingest (controller) process alone on the agents' Native batches: POST /v1/ingest with its
 * real auth (Postgres), ledger and quota (Redis), body read and block validation, into a writer that
 * takes each validated block and drops it (no coalescer, no store). What is left is the controller's
 * own CPU per batch, without the store process competing for the cores: its figure, CPU seconds per
 * 100 k rows of this process (main thread and V8's helper threads apart, and the GCs in the
 * window), is steadier than the full ingest bench's and may run longer to average the full GCs.
 *
 *   node --import tsx apps/controller/src/ingest/bench-controller-native.ts [--rows 1000000] [--batch 5000] [--concurrency 8]
 *
 * The agents' sender is bench-sender.ts in its own process (batches encoded before the window).
 */
import { readdirSync, readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { constants, PerformanceObserver } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { createLogger } from "@flowplane/core/log";
import { createTestDatabase } from "@flowplane/db/testing";
import { Redis } from "ioredis";
import { buildControllerServer } from "../http/server.ts";
import { enrollBenchAgent } from "./bench-enroll.ts";
import { runSender } from "./bench-sender-run.ts";
import type { TTaggingRowWriter } from "./ingest.ts";

const { values } = parseArgs({
  options: {
    rows: { type: "string", default: "1000000" },
    batch: { type: "string", default: "5000" },
    concurrency: { type: "string", default: "8" },
    /**
     * How long the writer keeps each block before answering: the coalescer holds a batch's payload
     * (and the request its body) until the insert holding it lands, ~100-200 ms in the ingest bench,
     * long enough for the buffers to outlive young-generation GCs, as they do in production.
     */
    "hold-ms": { type: "string", default: "150" },
  },
});
const ROWS = Number(values.rows);
const BATCH = Number(values.batch);
const CONCURRENCY = Number(values.concurrency);
const HOLD_MS = Number(values["hold-ms"]);

const log = createLogger("bench-controller-native");
const tdb = await createTestDatabase("bench_ctl_native");
const redis = new Redis("redis://127.0.0.1:6379", { maxRetriesPerRequest: 2 });
let stored = 0;
const write = Object.assign(
  async () => {
    throw new Error("bench-controller-native: row batches are not expected");
  },
  {
    writeNative: async (_table: string, _orgId: string, block: { rows: number; payload: Buffer }) => {
      stored += block.rows;
      if (HOLD_MS > 0) await new Promise((r) => setTimeout(r, HOLD_MS, block.payload));
      return { inserted: block.rows };
    },
  },
) as unknown as TTaggingRowWriter;
const app = buildControllerServer({
  log,
  probes: {},
  agentApi: {
    db: tdb.db,
    redis,
    writeRows: write,
    options: {
      orgRowsPerS: 0,
      maxInFlightBatches: Math.max(8, CONCURRENCY),
      maxBatchRows: Math.max(BATCH, 50_000),
    },
  },
});
await app.listen({ host: "127.0.0.1", port: 0 });
const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
try {
  const { agent } = await enrollBenchAgent(tdb.db, url);
  const gcs = { minor: 0, major: 0, incremental: 0, majorMs: 0 };
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind ?? 0;
      if (kind === constants.NODE_PERFORMANCE_GC_MINOR) gcs.minor++;
      else if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) {
        gcs.major++;
        gcs.majorMs += e.duration;
      } else if (kind === constants.NODE_PERFORMANCE_GC_INCREMENTAL) gcs.incremental++;
    }
  });
  // Baselines when the sender starts its timed window, after its warm-up batches.
  let threads0 = threadCpuS();
  let c0 = process.cpuUsage();
  let stored0 = stored;
  const sent = await runSender(
    {
      url,
      credential: agent.credential,
      agentId: agent.agentId,
      rows: ROWS,
      batch: BATCH,
      concurrency: CONCURRENCY,
      nowUs: Date.now() * 1000,
      encoding: "native",
    },
    () => {
      threads0 = threadCpuS();
      c0 = process.cpuUsage();
      stored0 = stored;
      obs.observe({ entryTypes: ["gc"] });
    },
  );
  const c = process.cpuUsage(c0);
  obs.disconnect();
  const threads = threadCpuS();
  let main = 0;
  let helpers = 0;
  for (const [tid, s] of threads) {
    const d = s - (threads0.get(tid) ?? 0);
    if (tid === process.pid) main += d;
    else helpers += d;
  }
  const per100k = (sec: number) => ((sec * 100_000) / sent.accepted).toFixed(3);
  console.log(
    `controller alone, Native: ${sent.accepted} rows (${stored - stored0} to the writer) in batches of ${BATCH}, ${CONCURRENCY} in flight, held ${HOLD_MS} ms, ${sent.seconds.toFixed(2)} s; load ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`,
  );
  console.log(
    `  CPU s per 100 k rows: process ${per100k((c.user + c.system) / 1e6)} (main thread ${per100k(main)}, other threads ${per100k(helpers)}); GCs: ${gcs.minor} scavenges, ${gcs.incremental} incremental, ${gcs.major} mark-compacts (${gcs.majorMs.toFixed(0)} ms); sender ${per100k(sent.cpuS)}`,
  );
} finally {
  await app.close();
  redis.disconnect();
  await tdb.drop();
}

/** CPU seconds of each thread of this process so far (Linux /proc), by thread id. */
function threadCpuS(): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync("/proc/self/task")) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out.set(Number(tid), (Number(f[11]) + Number(f[12])) / 100);
    } catch {
      // The thread ended meanwhile.
    }
  }
  return out;
}
