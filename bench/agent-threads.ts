// Per-thread CPU of one analyze run in a fresh process (issue 4's two-worker measurements):
// node --import tsx bench/agent-threads.ts <file> <workers> [outDir|-] [l7] [tuning JSON]
// → one JSON line: CPU seconds of this (reading) thread, of each other JS thread (the dispatch
// workers), of V8's and libuv's helper threads, of the process, and the wall clock. A probe
// thread samples /proc/self/task/*/stat every 20 ms (a worker's last sample is at most 20 ms old
// when it exits); V8's platform threads are shared by every isolate of the process.
import { loadavg } from "node:os";
import { Worker } from "node:worker_threads";

const [file, workersArg, outDir, l7, tuningArg] = process.argv.slice(2);
if (!file) {
  process.stderr.write("usage: agent-threads.ts <file> <workers> [outDir|-] [l7] [tuning JSON]\n");
  process.exit(2);
}

const probeSrc = `
const { readdirSync, readFileSync } = require("node:fs");
const { parentPort } = require("node:worker_threads");
const self = readFileSync("/proc/thread-self/stat", "utf8").split(" ")[0];
const seen = new Map();
const sample = () => {
  for (const tid of readdirSync("/proc/self/task")) {
    try {
      const s = readFileSync("/proc/self/task/" + tid + "/stat", "utf8");
      const close = s.lastIndexOf(")");
      const comm = s.slice(s.indexOf("(") + 1, close);
      const f = s.slice(close + 2).split(" ");
      seen.set(tid, { comm, ticks: Number(f[11]) + Number(f[12]), sys: Number(f[12]) });
    } catch {}
  }
};
const timer = setInterval(sample, 20);
parentPort.on("message", () => {
  clearInterval(timer);
  sample();
  parentPort.postMessage({ self, threads: [...seen].map(([tid, v]) => ({ tid, ...v })) });
});
`;
const probe = new Worker(probeSrc, { eval: true });
await new Promise((r) => setTimeout(r, 50));

const { analyzeFile } = await import("@flowplane/agent/analyze");
const { analyzeFileDispatched } = await import("../apps/agent/src/flow/dispatch-analyze.ts");
const workers = Number(workersArg ?? 1);
const opts = {
  workers,
  outDir: outDir && outDir !== "-" ? outDir : undefined,
  maxFlows: 2_000_000,
  ...(l7 === "l7" ? { l7: {} } : {}),
};
const c0 = process.cpuUsage();
const t0 = performance.now();
const r =
  tuningArg && workers > 1
    ? await analyzeFileDispatched(file, opts, JSON.parse(tuningArg))
    : await analyzeFile(file, opts);
const wall = (performance.now() - t0) / 1000;
const c = process.cpuUsage(c0);
const got = await new Promise<{
  self: string;
  threads: { tid: string; comm: string; ticks: number; sys: number }[];
}>((res) => {
  probe.once("message", res);
  probe.postMessage("stop");
});
await probe.terminate();
const hz = 100;
const mainTid = String(process.pid);
let main = 0;
let mainSys = 0;
const jsSys: number[] = [];
const js: number[] = [];
let helpers = 0;
let helpersSys = 0;
let probeCpu = 0;
// Threads started before the probe: V8's platform threads (compiles, GC), libuv's pool and
// tsx's loader thread; after it: the dispatch workers and the JSONL writer threads
// (output/file-sink.ts, one per isolate that wrote a file past 1 MiB).
for (const t of got.threads) {
  const s = t.ticks / hz;
  if (t.tid === mainTid) {
    main = s;
    mainSys = t.sys / hz;
  } else if (t.tid === got.self) probeCpu = s;
  else if (Number(t.tid) < Number(got.self)) {
    helpers += s;
    helpersSys += t.sys / hz;
  } else {
    js.push(s);
    jsSys.push(t.sys / hz);
  }
}
process.stdout.write(
  `${JSON.stringify({
    workers,
    l7Rows: r.l7Rows,
    packets: r.stats.packets,
    main: +main.toFixed(2),
    workerThreads: js.map((s) => +s.toFixed(2)),
    sys: [mainSys, ...jsSys].map((s) => +s.toFixed(2)),
    helpers: +helpers.toFixed(2),
    helpersSys: +helpersSys.toFixed(2),
    process: +((c.user + c.system) / 1e6).toFixed(2),
    wall: +wall.toFixed(2),
    load: +loadavg()[0].toFixed(1),
    probe: probeCpu,
  })}\n`,
);
