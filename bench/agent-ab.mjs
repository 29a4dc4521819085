// `npm run bench -- agent-ab [options]`: two contenders (checkouts and/or environments) of the
// agent on one capture, run alternately in fresh processes, so that a change of 20-60 ms can be
// told from a machine whose speed moves 10-30 % within minutes (sessions 13-14 on 2 vCPUs).
// Each run is bench/agent-probe.ts of the contender's own checkout (with its own node_modules:
// the probe imports @flowplane/agent). Prints, per contender, the
// median, lower quartile and best analyzeFile time, the analysing thread's CPU time and that of
// every thread still alive at the end (start-up included in both).
//
//   --runs N        alternated runs of each (default 12)
//   --mode l4|l7    (default l7)
//   --workers N     (default 1)
//   --capture F     (default bench/out/web-1m.pcap)
//   --a-root DIR    checkout of contender a (default this one); --b-root likewise
//   --a-env K=V,..  environment of contender a (e.g. FLOWPLANE_L7_DIRECT=1); --b-env likewise
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

function options(argv) {
  const o = { runs: 12, mode: "l7", workers: 1, capture: join(ROOT, "bench/out/web-1m.pcap") };
  const side = { a: { root: ROOT, env: {} }, b: { root: ROOT, env: {} } };
  for (let i = 0; i < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1]];
    if (v === undefined) throw new Error(`agent-ab: ${k} needs a value`);
    const m = /^--([ab])-(root|env)$/.exec(k);
    if (m) {
      if (m[2] === "root") side[m[1]].root = v;
      else for (const kv of v.split(",")) side[m[1]].env[kv.split("=")[0]] = kv.slice(kv.indexOf("=") + 1);
    } else if (k === "--runs") o.runs = Number(v);
    else if (k === "--mode") o.mode = v;
    else if (k === "--workers") o.workers = Number(v);
    else if (k === "--capture") o.capture = v;
    else throw new Error(`agent-ab: unknown option ${k}`);
  }
  if (!["l4", "l7"].includes(o.mode)) throw new Error("agent-ab: --mode is l4 or l7");
  if (!(o.runs >= 1)) throw new Error("agent-ab: --runs must be a positive number");
  if (!existsSync(o.capture))
    throw new Error(`agent-ab: no capture at ${o.capture} (npm run bench -- make-capture)`);
  for (const s of Object.values(side)) {
    if (!existsSync(join(s.root, "bench/agent-probe.ts")))
      throw new Error(`agent-ab: no bench/agent-probe.ts in ${s.root}`);
    // The probe imports @flowplane/agent: a checkout whose node_modules is another's (a symlink
    // to save an install) would run that other checkout's agent.
    const agent = join(s.root, "node_modules/@flowplane/agent");
    if (!existsSync(agent) || realpathSync(agent) !== realpathSync(join(s.root, "apps/agent")))
      throw new Error(`agent-ab: ${agent} is not that checkout's apps/agent (run npm ci there)`);
  }
  return { o, side };
}

function run(s, o, out) {
  const r = spawnSync(
    process.execPath,
    [
      "--import",
      "tsx",
      join(s.root, "bench/agent-probe.ts"),
      o.capture,
      String(o.workers),
      out,
      o.mode === "l7" ? "l7" : "",
    ],
    { cwd: s.root, env: { ...process.env, ...s.env }, encoding: "utf8", maxBuffer: 64 << 20 },
  );
  rmSync(out, { recursive: true, force: true });
  if (r.status !== 0)
    throw new Error(`agent-ab: a run in ${s.root} exited ${r.status}: ${r.stderr.slice(-400)}`);
  const p = JSON.parse(r.stdout.trim().split("\n").pop());
  const [user, sys] = p.threads[0];
  // Every live thread's (the native row thread's among them): the CPU a change saves off the
  // critical path shows here when the time does not move.
  const allMs = p.threads.reduce((t, [u, s]) => t + u + s, 0) * 1000;
  return { ms: p.elapsedMs, cpuMs: (user + sys) * 1000, allMs };
}

const q = (xs, f) => {
  const s = [...xs].sort((x, y) => x - y);
  const i = (s.length - 1) * f;
  return s[Math.floor(i)] + (s[Math.ceil(i)] - s[Math.floor(i)]) * (i - Math.floor(i));
};

export async function benchAgentAb(argv) {
  const { o, side } = options(argv);
  const tmp = mkdtempSync(join(tmpdir(), "flowplane-ab-"));
  const res = { a: [], b: [] };
  try {
    for (let i = 0; i < o.runs; i++) {
      for (const k of i % 2 === 0 ? ["a", "b"] : ["b", "a"]) {
        res[k].push(run(side[k], o, join(tmp, k)));
        process.stderr.write(`agent-ab: run ${i + 1}/${o.runs} ${k} ${Math.round(res[k].at(-1).ms)} ms\n`);
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  console.log(
    `${o.capture.split("/").pop()}, ${o.mode}, ${o.workers} worker(s), ${o.runs} alternated runs each`,
  );
  for (const k of ["a", "b"]) {
    const ms = res[k].map((r) => r.ms);
    const cpu = res[k].map((r) => r.cpuMs);
    const all = res[k].map((r) => r.allMs);
    const env = Object.entries(side[k].env)
      .map(([n, v]) => `${n}=${v}`)
      .join(",");
    console.log(
      `${k}: median ${q(ms, 0.5).toFixed(0)} ms, lower quartile ${q(ms, 0.25).toFixed(0)}, best ${Math.min(...ms).toFixed(0)}; main thread CPU (with start-up) median ${q(cpu, 0.5).toFixed(0)} ms, all live threads' ${q(all, 0.5).toFixed(0)} ms (${side[k].root}${env ? ` ${env}` : ""})`,
    );
  }
  const median = (k) =>
    q(
      res[k].map((r) => r.ms),
      0.5,
    );
  const d = median("b") / median("a");
  console.log(`b / a, medians: ${d.toFixed(3)}`);
}
