/**
 * Ingest benchmark: L4 rows/s from agent batches (the agent's HttpExporter → POST /v1/ingest →
 * validation, tagging → the coalescer's inserts (Native blocks, or TSV) → the embedded store over HTTP),
 * beside the ceiling: the very same rows in chDB's fastest input (its Native format, read from a
 * file) bulk-inserted in one insert straight into chDB in this process, into the same tables
 * (l4_flow_log with the rollup view that feeds on it) and into a bare copy of l4_flow_log; the
 * engine's TSV from a file and inline beside it. Prints rows/s, the ratio, and CPU seconds per
 * 100 k rows of each process (steadier than rates on a loaded machine). Then the
 * failover time: two data node processes, agents syncing at the default interval, one node
 * SIGKILLed; seconds until every agent it had is sending elsewhere, and as sync intervals.
 *
 *   node --import tsx apps/controller/src/ingest/bench-ingest.ts [--rows 200000] [--batch 5000] [--concurrency 16] [--rounds 5] [--encoding native|tsv|json] [--no-tagging] [--no-failover]
 *
 * `--encoding` is the agents' wire encoding: `native` (the default; agents send L4 rows as one
 * ClickHouse Native block per batch since session 5, validated and inserted as a block), `tsv`
 * (the compact text encoding) or `json` (what agents before TSV send).
 *
 * Unless `--no-tagging`, the same rows also go through a second controller whose writer tags them
 * (AutoTagging, apps/controller/src/tagging) for an org with a resource model, printed beside the
 * untagged run, with the tag columns' bytes on disk (issue 9's benchmark lines).
 *
 * The controller runs in this process (one ingest process), the store and the agents' sender
 * (bench-sender.ts) each in their own process, as in production. The sender builds and encodes
 * every batch body before the timed window (agents do that on their own hosts) and sends 8 full
 * warm-up batches of other rows first, not counted (the ceiling's engine is as warm: it has just
 * taken the same rows into a staging table); the window holds the exporter's sends, retries and
 * answers. The window runs `--rounds` times (5), the store emptied and quiet before each, each
 * followed by its own ceiling insert once the store's merges are done; the round with the median
 * ratio is reported.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createLogger } from "@flowplane/core/log";
import { createTestDatabase } from "@flowplane/db/testing";
import type { ClickHouseClient } from "@flowplane/query/client";
import { loadMigrations } from "@flowplane/query/ddl";
import { createTestClickhouse } from "@flowplane/query/testing";
import { DEFAULT_AGENT_API_OPTIONS } from "../agents/api.ts";
import { createAgentRuntime } from "../agents/wiring.ts";
import { buildControllerServer } from "../http/server.ts";
import { ChdbEngine } from "../store/engine.ts";
import { benchTaggedIngest, measureTagColumnBytes } from "../tagging/bench.ts";
import { enrollBenchAgent } from "./bench-enroll.ts";
import { benchFailover } from "./bench-failover.ts";
import { l4Row } from "./bench-rows.ts";
import { runSender } from "./bench-sender-run.ts";

const { values } = parseArgs({
  options: {
    rows: { type: "string", default: "200000" },
    batch: { type: "string", default: "5000" },
    /**
     * Batches in flight: by default the ingest process's admission limit, which a saturated node
     * serving at least that many busy agents holds (past it agents get 429 and retry), and a
     * throughput bench measures a saturated node.
     */
    concurrency: { type: "string", default: String(DEFAULT_AGENT_API_OPTIONS.maxInFlightBatches) },
    /** The agents' default since session 5: Native for L4 rows (apps/agent/src/controller-link/exporter.ts). */
    encoding: { type: "string", default: "native" },
    "no-tagging": { type: "boolean", default: false },
    /** The default since tagging lines are always printed; kept so old command lines still run. */
    tagging: { type: "boolean", default: false },
    "no-failover": { type: "boolean", default: false },
    /** Timed ingest windows (the median is reported; the store is emptied between them). */
    rounds: { type: "string", default: "5" },
  },
});
const ROWS = Number(values.rows);
const ROUNDS = Math.max(1, Number(values.rounds));
const BATCH = Number(values.batch);
const CONCURRENCY = Number(values.concurrency);
const ENCODING = values.encoding === "json" || values.encoding === "tsv" ? values.encoding : "native";
const redisUrl = "redis://127.0.0.1:6379";

const log = createLogger("bench-ingest");
const workDir = mkdtempSync(join(tmpdir(), "fp-bench-ingest-"));
// Our own store process (not the test helper's), so its CPU time can be read.
const store = await startStoreProcess(join(workDir, "store"));
// A bench that fails before its cleanup (a migration, the database) must not leave the store running.
process.once("exit", () => store.child.kill("SIGKILL"));
process.env.CLICKHOUSE_URL = store.url;
const tdb = await createTestDatabase("bench_ingest");
const ch = await createTestClickhouse("bench_ingest");
const runtime = await createAgentRuntime({
  databaseUrl: tdb.url,
  redisUrl,
  clickhouse: ch.client,
  log,
  jobs: false,
  options: {
    orgRowsPerS: 0,
    maxInFlightBatches: Math.max(8, CONCURRENCY),
    maxBatchRows: Math.max(BATCH, 50_000),
  },
});
const app = buildControllerServer({ log, probes: {}, agentApi: runtime.agentApi });
await app.listen({ host: "127.0.0.1", port: 0 });
const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
const ceilingDir = join(workDir, "ceiling");
try {
  const { org, agent } = await enrollBenchAgent(tdb.db, url);
  // The agents' side in a process of its own (as agents are): this process is only the ingest one.
  const nowUs = Date.now() * 1000;
  const redisPid = redisServerPid();
  /**
   * One timed window: the sender's run after its warm-up, with this process's, the store's and
   * Redis's CPU over it (baselines taken when the sender says its window starts).
   */
  const ingestRound = async () => {
    let c0 = process.cpuUsage();
    let st0 = 0;
    let redis0 = 0;
    let stMain0 = 0;
    let statsBefore = { ...runtime.coalescer.stats };
    const sent = await runSender(
      {
        url,
        credential: agent.credential,
        agentId: agent.agentId,
        rows: ROWS,
        batch: BATCH,
        concurrency: CONCURRENCY,
        nowUs,
        encoding: ENCODING,
      },
      () => {
        c0 = process.cpuUsage();
        st0 = processCpuS(store.child.pid);
        redis0 = redisPid === undefined ? 0 : processCpuS(redisPid);
        stMain0 = processCpuS(store.child.pid, store.child.pid);
        statsBefore = { ...runtime.coalescer.stats };
      },
    );
    return {
      ...sent,
      rate: sent.accepted / sent.seconds,
      ingestCpuS: cpuS(process.cpuUsage(c0)),
      storeCpuS: processCpuS(store.child.pid) - st0,
      // Its main thread is the JS side (HTTP, body, the engine call); the rest is chDB's threads.
      storeMainCpuS: processCpuS(store.child.pid, store.child.pid) - stMain0,
      redisCpuS: redisPid === undefined ? Number.NaN : processCpuS(redisPid) - redis0,
      inserts: runtime.coalescer.stats.inserts - statsBefore.inserts,
    };
  };
  // The first window; its rows are the ceiling's (more windows below, each beside a ceiling).
  const first = await ingestRound();

  // The store's merges of the run's parts go on after the window: the ceiling is measured once
  // they are done, so they do not slow it (which would flatter the ratio).
  const storeQuiet = await waitForNoMerges(ch.client);

  // The same rows, as the engine's own TSV, straight into chDB (a fresh data directory), once into
  // the same schema (l4_flow_log and the view that feeds its rollup) and once into a bare copy.
  const tsv = Buffer.from(
    await (
      await ch.client.query({
        // The run's rows, not the sender's warm-up batches (flow ids past ROWS).
        query:
          "SELECT * FROM l4_flow_log WHERE org_id = {org:UUID} AND flow_id <= {rows:UInt64} ORDER BY flow_id",
        query_params: { org: org.id, rows: ROWS },
        format: "TabSeparated",
      })
    ).text(),
  );
  const engine = new ChdbEngine(ceilingDir);
  const run = (sql: string, insertPayload?: Buffer) =>
    engine.run({
      setStatements: [],
      database: "ceiling",
      sql,
      format: "TabSeparated",
      params: {},
      ...(insertPayload ? { insertPayload } : {}),
    });
  await engine.run({
    setStatements: [],
    database: undefined,
    sql: "CREATE DATABASE ceiling",
    format: "TabSeparated",
    params: {},
  });
  for (const m of loadMigrations()) for (const statement of m.statements) await run(statement);
  await run("CREATE TABLE l4_bare AS l4_flow_log");
  await run("CREATE TABLE l4_stage AS l4_flow_log");
  // The ceiling is chDB's fastest input: the rows in its own columnar format, Native, read from a
  // file (the inline raw insert takes text formats only, and costs more per byte than a file).
  // The engine's TSV inline (the ceiling before session 4) and from a file are printed beside it.
  await run("INSERT INTO l4_stage FORMAT TabSeparated", tsv);
  const nativeFile = join(workDir, "ceiling.native");
  const tsvFile = join(workDir, "ceiling.tsv");
  writeFileSync(
    nativeFile,
    (
      await engine.run({
        setStatements: [],
        database: "ceiling",
        sql: "SELECT * FROM l4_stage FORMAT Native",
        format: "Native",
        params: {},
      })
    ).body,
  );
  writeFileSync(tsvFile, tsv);
  let tsvRows = 0;
  for (let at = tsv.indexOf(10); at !== -1; at = tsv.indexOf(10, at + 1)) tsvRows++;
  const ceilingInto = async (table: string, form: "native" | "tsv file" | "tsv inline") => {
    // Each form into an empty table (and rollup), so no merge of an earlier form's part runs meanwhile.
    await run(`TRUNCATE TABLE ${table}`);
    if (table === "l4_flow_log") await run("TRUNCATE TABLE l4_edge_1h");
    const cpu = process.cpuUsage();
    const t = performance.now();
    if (form === "native") await run(`INSERT INTO ${table} SELECT * FROM file('${nativeFile}', Native)`);
    else if (form === "tsv file")
      await run(`INSERT INTO ${table} FROM INFILE '${tsvFile}' FORMAT TabSeparated`);
    // A SETTINGS clause (the default's value) keeps the engine from reading this payload via a file.
    else
      await run(`INSERT INTO ${table} SETTINGS input_format_parallel_parsing = 1 FORMAT TabSeparated`, tsv);
    const wall = (performance.now() - t) / 1000;
    const cpuUsed = cpuS(process.cpuUsage(cpu));
    const stored = Number(Buffer.from((await run(`SELECT count() FROM ${table}`)).body).toString());
    if (stored !== tsvRows) throw new Error(`ceiling ${form} into ${table}: ${stored} rows, not ${tsvRows}`);
    return { rate: stored / wall, cpuS: cpuUsed };
  };
  // Windows and ceilings in pairs, each ceiling right after its window (the store's merges done,
  // which would otherwise slow the ceiling and flatter the ratio): this VM's file system makes
  // single runs swing (file creates slow down after many deletes), so the round with the median
  // ratio is reported. The store is emptied and quiet before each later window.
  const rounds = [{ ...first, ceiling: await ceilingInto("l4_flow_log", "native") }];
  for (let k = 1; k < ROUNDS; k++) {
    await ch.client.command({ query: "TRUNCATE TABLE l4_flow_log" });
    await ch.client.command({ query: "TRUNCATE TABLE l4_edge_1h" });
    await waitForNoMerges(ch.client);
    const r = await ingestRound();
    await waitForNoMerges(ch.client);
    rounds.push({ ...r, ceiling: await ceilingInto("l4_flow_log", "native") });
  }
  const round = [...rounds].sort((x, y) => x.rate / x.ceiling.rate - y.rate / y.ceiling.rate)[
    Math.floor(rounds.length / 2)
  ] as (typeof rounds)[number];
  const ceiling = round.ceiling;
  const { ingestCpuS, storeCpuS, storeMainCpuS, inserts, redisCpuS } = round;
  const batches = Math.ceil(ROWS / BATCH);
  const { accepted, seconds: ingestS, cpuS: senderCpuS, busyCores } = round;
  const bare = await ceilingInto("l4_bare", "native");
  const tsvFileCeiling = await ceilingInto("l4_flow_log", "tsv file");
  const tsvInlineCeiling = await ceilingInto("l4_flow_log", "tsv inline");
  await engine.close();

  // ── AutoTagging: the same rows through a tagging controller (another org with resources) ──
  const tagging = !values["no-tagging"];
  const tagged = tagging
    ? await benchTaggedIngest({
        agentApi: runtime.agentApi,
        clickhouse: ch.client,
        log,
        rows: ROWS,
        batch: BATCH,
        concurrency: CONCURRENCY,
        makeRow: l4Row,
        nowUs,
        rounds: 3,
      })
    : undefined;
  const tagBytes = tagging ? await measureTagColumnBytes(ch.client) : undefined;

  const ingestRate = accepted / ingestS;
  const per100k = (sec: number) => ((sec * 100_000) / accepted).toFixed(2);
  console.log(
    [
      `ingest bench: ${ROWS} L4 rows in batches of ${BATCH}, ${CONCURRENCY} in flight, ${ENCODING} encoding (load average ${loadavg()})`,
      `  agent batches -> controller -> store: ${Math.round(ingestRate).toLocaleString("en")} rows/s (${accepted} rows, ${ingestS.toFixed(2)} s; ${inserts} inserts, ${(batches / Math.max(1, inserts)).toFixed(1)} batches each; the round with the median ratio of ${rounds.length})`,
      `  direct chDB insert, Native from a file, same tables (l4_flow_log + its rollup view): ${Math.round(ceiling.rate).toLocaleString("en")} rows/s (the same round's)`,
      `  direct chDB insert, Native from a file, bare l4_flow_log copy (no view)          : ${Math.round(bare.rate).toLocaleString("en")} rows/s`,
      `  same tables, engine TSV: from a file ${Math.round(tsvFileCeiling.rate).toLocaleString("en")} rows/s, inline (the ceiling before session 4) ${Math.round(tsvInlineCeiling.rate).toLocaleString("en")} rows/s`,
      `  rounds (ingest / ceiling, k rows/s): ${rounds.map((r) => `${Math.round(r.rate / 1000)}/${Math.round(r.ceiling.rate / 1000)} = ${((100 * r.rate) / r.ceiling.rate).toFixed(1)} %`).join("; ")}`,
      `  ratio: ${((100 * ingestRate) / ceiling.rate).toFixed(1)} % of the same-tables ceiling, ${((100 * ingestRate) / bare.rate).toFixed(1)} % of the bare one (target >= 70 %); ${((100 * ingestRate) / tsvInlineCeiling.rate).toFixed(1)} % of the inline TSV one`,
      `  CPU s per 100 k rows: ingest (controller) process ${per100k(ingestCpuS)}, store process ${per100k(storeCpuS)} (its JS thread ${per100k(storeMainCpuS)}), agents' sender process ${per100k(senderCpuS)}, Redis ${per100k(redisCpuS)}; machine busy over the window ${busyCores.toFixed(2)} of ${availableParallelism()} cores; ceiling ${per100k(ceiling.cpuS)} (same tables), ${per100k(bare.cpuS)} (bare); TSV same tables: from a file ${per100k(tsvFileCeiling.cpuS)}, inline ${per100k(tsvInlineCeiling.cpuS)}`,
      `  (the agents' batches are built and encoded before the timed window, as agents on other hosts do on their own CPU; the sender's figure is the exporter's HTTP sends and answers; each ceiling ran once the store's merges were done, the first ${storeQuiet.toFixed(1)} s after its window)`,
      ...(tagged
        ? [
            `  tagging on vs off (same rows, an org with ${tagged.resources} resources, ${tagged.taggedShare.toFixed(0)} % of IPs resolved; medians of ${tagged.rounds} alternating runs): on ${Math.round(tagged.rowsPerS).toLocaleString("en")} rows/s, off ${Math.round(tagged.offRowsPerS).toLocaleString("en")} rows/s; cost ${((100 * (tagged.offRowsPerS - tagged.rowsPerS)) / tagged.offRowsPerS).toFixed(1)} % (target < 15 %)`,
            `  tagging alone, in process: ${Math.round(tagged.tagRowsPerS).toLocaleString("en")} rows/s (dictionary build ${tagged.buildMs.toFixed(0)} ms)`,
          ]
        : []),
      ...(tagBytes
        ? [
            `  tag columns on disk per 1 M L4 rows (client+server, sorted as l4_flow_log): UInt32 ids ${Math.round(tagBytes.ids / 1024).toLocaleString("en")} KiB, String names ${Math.round(tagBytes.strings / 1024).toLocaleString("en")} KiB, LowCardinality(String) ${Math.round(tagBytes.lowcard / 1024).toLocaleString("en")} KiB; ids = ${((100 * tagBytes.ids) / tagBytes.strings).toFixed(0)} % of String (target <= 33 %)`,
          ]
        : []),
    ].join("\n"),
  );

  if (!values["no-failover"]) {
    const f = await benchFailover({
      db: tdb.db,
      databaseUrl: tdb.url,
      redisUrl,
      controllerUrl: url,
      clickhouse: ch,
      workDir,
      log,
    });
    console.log(
      [
        `failover: ${f.agents} agents on ${f.nodes} data node processes (sync interval ${f.syncIntervalS} s, node heartbeat ${f.heartbeatS} s, marked down after ${f.missAfterS} s by the rebalance job every ${f.rebalanceEveryS} s)`,
        `  node killed -> all ${f.movedAgents} of its agents sending elsewhere: ${f.failoverS.toFixed(1)} s = ${(f.failoverS / f.syncIntervalS).toFixed(2)} sync intervals (target < 3); rows stored ${f.stored} = produced ${f.produced}: ${f.stored === f.produced ? "no loss, no duplicates" : "MISMATCH"}`,
      ].join("\n"),
    );
  }
} finally {
  await app.close();
  await runtime.close();
  await ch.drop();
  await tdb.drop();
  await store.stop();
  rmSync(workDir, { recursive: true, force: true });
}

function cpuS(u: NodeJS.CpuUsage): number {
  return (u.user + u.system) / 1e6;
}

/** User + system CPU seconds of a process so far, threads included, or of its thread `tid` (Linux /proc). */
function processCpuS(pid: number | undefined, tid?: number): number {
  if (pid === undefined) return Number.NaN;
  const stat = readFileSync(
    tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`,
    "utf8",
  );
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in USER_HZ (100)
}

/** The local redis-server's pid (the bench's Redis), for its CPU seconds; undefined if not found. */
function redisServerPid(): number | undefined {
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/comm`, "utf8").trim() === "redis-server") return Number(d);
    } catch {
      // The process ended meanwhile.
    }
  }
  return undefined;
}

/** Waits until the store has run no merge for 1 s (at most 30 s); returns the seconds waited. */
async function waitForNoMerges(client: ClickHouseClient): Promise<number> {
  const t0 = performance.now();
  let quietSince = performance.now();
  while (performance.now() - quietSince < 1000 && performance.now() - t0 < 30_000) {
    const rs = await client.query({ query: "SELECT count() AS n FROM system.merges", format: "JSONEachRow" });
    const [{ n }] = (await rs.json()) as [{ n: string }];
    if (n !== "0") quietSince = performance.now();
    await new Promise((r) => setTimeout(r, 100));
  }
  return (performance.now() - t0) / 1000;
}

function loadavg(): string {
  return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
}

async function startStoreProcess(
  dir: string,
): Promise<{ url: string; child: ChildProcess; stop(): Promise<void> }> {
  const readyFile = join(workDir, "store.ready.json");
  const main = new URL("../store/main.ts", import.meta.url).pathname;
  const child = spawn(
    process.execPath,
    ["--import", "tsx", main, "--data-dir", dir, "--port", "0", "--ready-file", readyFile],
    {
      stdio: ["ignore", "ignore", "inherit"],
    },
  );
  const deadline = Date.now() + 60_000;
  while (!existsSync(readyFile)) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error("bench store did not start");
    await new Promise((r) => setTimeout(r, 50));
  }
  const { url } = JSON.parse(readFileSync(readyFile, "utf8")) as { url: string };
  return {
    url,
    child,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    },
  };
}
