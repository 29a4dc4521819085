// `npm run bench -- <name> [options]`: benchmarks, not tests (they measure; they never fail a build).
const BENCHES = {
  agent: {
    summary: "agent packets/s vs tshark and softflowd, peak RSS at 1 M flows [--write] [--rounds N]",
    load: () => import("./agent.mjs").then((m) => m.benchAgent),
  },
  "agent-ab": {
    summary:
      "two contenders (checkouts or environments) alternated on one capture: median, quartile, best [--runs N] [--mode l4|l7] [--a-root D] [--b-env K=V]",
    load: () => import("./agent-ab.mjs").then((m) => m.benchAgentAb),
  },
  "agent-ir": {
    summary:
      "agent instructions per packet under callgrind (repeatable on a busy machine) [--l7] [--packets N] [--capture web]",
    load: () => import("./agent-ir.mjs").then((m) => m.benchAgentIr),
  },
  ingest: {
    summary:
      "controller ingest rows/s from agent batches vs a direct chDB insert (the ceiling), tagging on vs off, tag column bytes, failover [--rows N] [--no-tagging] [--no-failover]",
    load: () => async (argv) => {
      const { spawnSync } = await import("node:child_process");
      const script = new URL("../apps/controller/src/ingest/bench-ingest.ts", import.meta.url).pathname;
      const r = spawnSync(process.execPath, ["--import", "tsx", script, ...argv], { stdio: "inherit" });
      if (r.status !== 0) throw new Error(`ingest bench exited ${r.status}`);
    },
  },
  npb: {
    summary: "packet broker: forwarded packets/s (match + dedup + encap, with and without send) vs tcpreplay",
    load: () => async (argv) => {
      const { spawnSync } = await import("node:child_process");
      const script = new URL("../apps/agent/src/npb/bench.ts", import.meta.url).pathname;
      const r = spawnSync(process.execPath, ["--import", "tsx", script, ...argv], { stdio: "inherit" });
      if (r.status !== 0) throw new Error(`npb bench exited ${r.status}`);
    },
  },
  query: {
    summary:
      "analysis page queries: p50/p95 over 1 h and 24 h beside a raw-table aggregate [--rows N] [--runs R]",
    load: () => import("./query.mjs").then((m) => m.benchQuery),
  },
  "make-capture": {
    summary: "(re)generate the benchmark captures under bench/out [--force]",
    load: () =>
      import("./make-capture.mjs").then((m) => async (argv) => {
        const force = argv.includes("--force");
        await m.ensureRealCapture({ force });
        await m.ensureHttpCapture({ force });
        m.ensureFlowsCapture({ force });
      }),
  },
};

const [name, ...rest] = process.argv.slice(2);
const bench = name ? BENCHES[name] : undefined;
if (!bench) {
  process.stderr.write(
    `usage: npm run bench -- <name>\n${Object.entries(BENCHES)
      .map(([n, b]) => `  ${n}: ${b.summary}`)
      .join("\n")}\n`,
  );
  process.exit(name ? 2 : 0);
}
try {
  const fn = await bench.load();
  await fn(rest);
} catch (err) {
  process.stderr.write(`bench ${name}: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
