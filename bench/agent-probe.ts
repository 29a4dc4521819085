// One measurement of the agent in a fresh process (so peak RSS is this run's alone):
// node --import tsx bench/agent-probe.ts <file> <workers> [outDir] [l7|floor[:bytes]] → one JSON line on stdout.
//
// `floor` (issue 4's floor analysis; one worker, needs outDir): the L4-only run (what
// analyzeFileSync does: engine, l4_flow_log and network_metrics files) that also writes `bytes`
// of JSONL (default 356 MB: web-1m.pcap's l7_flow_log and application_metrics) to
// <outDir>/l7_flow_log.jsonl, a slice every 1024 packets, through the JSONL writer (on its writer
// thread, or on this one with FLOWPLANE_JSONL_SYNC=1). Each row repeats the previous one, which
// the writer copies from its buffer (a memmove): the L7 run with parsing and formatting at ~zero.
import { mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { analyzeFile } from "@flowplane/agent/analyze";
import { readCaptureFile } from "../apps/agent/src/capture/capture-file.ts";
import { createEngine } from "../apps/agent/src/flow/flow-engine.ts";
import { JsonlWriter } from "../apps/agent/src/output/jsonl-writer.ts";

const [file, workersArg, outDir, mode] = process.argv.slice(2);
if (!file) {
  process.stderr.write("usage: agent-probe.ts <file> <workers> [outDir] [l7|floor[:bytes]]\n");
  process.exit(2);
}
const workers = Number(workersArg ?? 1);
const r = mode?.startsWith("floor")
  ? floorRun(file, outDir!, Number(mode.split(":")[1] ?? 356e6))
  : await analyzeFile(file, {
      workers,
      outDir: outDir || undefined,
      maxFlows: 2_000_000,
      ...(mode === "l7" ? { l7: {} } : {}),
    });
process.stdout.write(
  `${JSON.stringify({
    packets: r.stats.packets,
    flows: r.stats.flowsCreated,
    l7Rows: r.l7Rows,
    maxConcurrentFlows: r.stats.maxConcurrentFlows,
    decodeErrors: r.stats.decodeErrors,
    evictions: r.stats.evictions,
    elapsedMs: r.elapsedMs,
    packetsPerSecond: r.packetsPerSecond,
    workers: r.workers,
    ...(r.l7RowPath !== undefined ? { l7RowPath: r.l7RowPath } : {}),
    ...(r.l7DirectOutput ? { l7DirectOutput: true } : {}),
    ...(r.l7CaptureReads !== undefined ? { l7CaptureReads: r.l7CaptureReads } : {}),
    ...("plan" in r && r.plan ? { plan: r.plan, workersRequested: r.workersRequested } : {}),
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    ...("floorBytes" in r ? { floorBytes: r.floorBytes } : {}),
    threads: threadCpu(),
  })}\n`,
);

/**
 * [user, sys] CPU seconds of this thread, then of each live thread with any (at the end: the JSONL
 * writer thread; exited dispatch workers are gone, see agent-threads.ts for those).
 */
function threadCpu(): [number, number][] {
  const out: [number, number][] = [];
  const self = String(process.pid);
  for (const tid of [self, ...readdirSync("/proc/self/task").filter((t) => t !== self)]) {
    try {
      const s = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
      const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
      const cpu: [number, number] = [Number(f[11]) / 100, Number(f[12]) / 100];
      if (tid === self || cpu[0] + cpu[1] > 0.02) out.push(cpu);
    } catch {}
  }
  return out;
}

function floorRun(path: string, dir: string, bytes: number) {
  const started = performance.now();
  mkdirSync(dir, { recursive: true });
  const l4 = new JsonlWriter(join(dir, "l4_flow_log.jsonl"));
  const nm = new JsonlWriter(join(dir, "network_metrics.jsonl"));
  const l7 = new JsonlWriter(join(dir, "l7_flow_log.jsonl"));
  const row = { flow_id: "7712637133235683329", pad: "x".repeat(680) };
  const lineBytes = JSON.stringify(row).length + 1;
  const size = statSync(path).size;
  let written = 0;
  let n = 0;
  const upTo = (target: number) => {
    while (written < target) {
      l7.write(row);
      written += lineBytes;
    }
  };
  const engine = createEngine({
    maxFlows: 2_000_000,
    onL4: (x) => l4.write(x),
    onNetworkMetrics: (x) => nm.write(x),
  });
  readCaptureFile(
    path,
    (lt, buf, off, cap, wire, ts, fo) => {
      engine.packet(lt, buf, off, cap, wire, ts, fo);
      if (++n === 1024) {
        n = 0;
        upTo((bytes * fo) / size);
      }
    },
    (kind, offset) => engine.decodeError(kind, offset),
  );
  engine.flush();
  upTo(bytes);
  l4.close();
  nm.close();
  l7.close();
  const stats = engine.stats();
  const elapsedMs = performance.now() - started;
  return {
    stats,
    l7Rows: 0,
    elapsedMs,
    packetsPerSecond: stats.packets / (elapsedMs / 1000),
    workers: 1,
    floorBytes: written,
  };
}
