/**
 * In-process microbench of the store's insert path (issue 5): the engine the store runs
 * (`ChdbEngine`, payload spooled and read with `FROM INFILE`) on a fresh data directory with the
 * real schema (`loadMigrations()`: l4_flow_log and the l4_edge_1h_mv view into l4_edge_1h), fed
 * what the store receives from the controller's coalescer: `INSERT INTO l4_flow_log (cols) FORMAT
 * Native` of agent blocks back to back (the bench's L4 rows, `l4Row`, encoded by the agents'
 * encoder and passed through the controller's validator, 5 000-row blocks), with the SET
 * statements the store renders from the client's settings (the query limits, the dedup token and
 * `deduplicate_blocks_in_dependent_materialized_views`) and a USE.
 *
 *   node --import tsx apps/controller/src/store/bench-insert.ts [--variants 200x1,40x5000,8x25000,1x200000] [--rounds 3]
 *
 * A variant `NxK` is N inserts of K rows; `NxK@name=value,table.name=value` also sets those
 * MergeTree settings on both tables (or the one named) for that variant (others reset to the DDL's). Variants alternate within
 * each round (the order rotates per round). Before each variant both tables are truncated and
 * left quiet. For each: CPU (process, all threads; the JS thread apart) and wall of the inserts,
 * then the CPU until merges are quiescent (`system.merges` empty for `--quiet-ms`; the idle CPU of
 * the polling, measured at start, subtracted), the rows the merges wrote (`system.events`
 * MergedRows) and the active parts left, with the share of rows outside each table's largest part
 * (left for a later merge); `--final` also counts an OPTIMIZE ... FINAL of both tables after that,
 * so a setting that defers merges is charged for them. Figures per insert and per 100 k rows.
 *
 * Where TMPDIR points matters (file creates are a part of each insert's cost): the store's data
 * directory is on the root file system, so is the default here.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadMigrations } from "@flowplane/query/ddl";
import { encodeNativeBlock } from "@flowplane/query/native-block";
import { l4Row } from "../ingest/bench-rows.ts";
import { ChdbEngine } from "./engine.ts";
import { renderSetStatements } from "./http-request.ts";

const { values } = parseArgs({
  options: {
    variants: { type: "string", default: "200x1,40x5000,8x25000,1x200000" },
    rounds: { type: "string", default: "3" },
    "quiet-ms": { type: "string", default: "2000" },
    "block-rows": { type: "string", default: "5000" },
    /**
     * After the merges are quiescent, OPTIMIZE ... FINAL both tables and count its CPU too: every
     * variant then ends with one part per table, so merges a setting only defers are counted.
     */
    final: { type: "boolean", default: false },
    /** Before `--final`: median CPU ms of a few console-shaped reads (5 runs each) on the parts as left. */
    queries: { type: "boolean", default: false },
  },
});

interface Variant {
  label: string;
  inserts: number;
  rows: number;
  tableSettings: [string, string][];
  /** Before session 6 (for A/B in one process): `sets`, `spool` or `old` (both), see `insert`. */
  before: string;
}
const variants: Variant[] = values.variants.split(/\s+|;/).flatMap((spec) =>
  spec === ""
    ? []
    : spec.split(/,(?=\d+x)/).map((v) => {
        const [shape = "", settings = ""] = v.split("@");
        const m = /^(\d+)x(\d+)(?:~(sets|spool|old))?$/.exec(shape);
        if (!m) throw new Error(`variant '${v}': expected NxK[@name=value,...]`);
        const tableSettings = settings
          .split(",")
          .filter(Boolean)
          .map((s) => {
            const [name = "", value = ""] = s.split("=");
            if (!/^(?:[a-z0-9_]+\.)?[a-z_]+$/.test(name) || !/^[A-Za-z0-9_.']*$/.test(value))
              throw new Error(`variant '${v}': bad setting '${s}'`);
            return [name, value] as [string, string];
          });
        return { label: v, inserts: Number(m[1]), rows: Number(m[2]), tableSettings, before: m[3] ?? "" };
      }),
);
const ROUNDS = Number(values.rounds);
const QUIET_MS = Number(values["quiet-ms"]);
const BLOCK_ROWS = Number(values["block-rows"]);
const TABLES = ["l4_flow_log", "l4_edge_1h"];
const ORG = "6b1f3c9e-2d4a-4c1b-9a57-0f8e2d3c4b5a";
const AGENT = "0c7d9e1f-3a2b-4c5d-8e6f-7a8b9c0d1e2f";

const dir = mkdtempSync(join(tmpdir(), "fp-bench-insert-"));
const engine = new ChdbEngine(join(dir, "store"));
const spoolDir = join(dir, "store", "insert-spool");
let tokens = 0;

function sql(text: string, database: string | null = "bench") {
  return engine.run({
    setStatements: [],
    database: database ?? undefined,
    sql: text,
    format: "TabSeparated",
    params: {},
  });
}
async function scalar(text: string): Promise<number> {
  return Number(
    Buffer.from((await sql(text)).body)
      .toString("utf8")
      .trim() || "0",
  );
}

/** The JS thread's CPU seconds (the rest of the process is chDB's threads). */
function mainThreadCpuS(): number {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
}
function processCpuS(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/**
 * Payloads as the coalescer sends them: agent blocks of `BLOCK_ROWS` back to back, each the agents'
 * encoding of the rows with org_id and agent_id added (what the controller's validator appends).
 * The rows go through a staging table once (the agents' encoder in, the engine's Native out per
 * block), so the payloads depend on no controller code but the wire form's.
 */
const AGENT_COLUMNS = Object.keys(l4Row(0, 0));
const COLUMNS = [...AGENT_COLUMNS, "org_id", "agent_id"];
let staged = 0;
async function stageRows(rows: number): Promise<void> {
  const nowUs = Date.UTC(2026, 10, 27, 0, 0, 0) * 1000;
  for (; staged < rows; staged += 5000) {
    const rs = [];
    for (let i = staged; i < staged + 5000; i++) rs.push(l4Row(i, nowUs));
    await engine.run({
      setStatements: [],
      database: "bench",
      sql: `INSERT INTO l4_stage (${AGENT_COLUMNS.join(", ")}) FORMAT Native`,
      format: "TabSeparated",
      params: {},
      insertPayload: encodeNativeBlock("l4_flow_log", rs, { columns: AGENT_COLUMNS }),
    });
  }
}
const blockCache = new Map<number, Buffer[]>();
async function blocksOf(blockRows: number, rows: number): Promise<Buffer[]> {
  await stageRows(rows);
  let blocks = blockCache.get(blockRows);
  if (!blocks) {
    blocks = [];
    blockCache.set(blockRows, blocks);
  }
  for (let at = blocks.length * blockRows; at < rows; at += blockRows) {
    const r = await sql(
      `SELECT ${AGENT_COLUMNS.join(", ")}, toUUID('${ORG}') AS org_id, toUUID('${AGENT}') AS agent_id FROM l4_stage WHERE flow_id > ${at} AND flow_id <= ${at + blockRows} ORDER BY flow_id FORMAT Native SETTINGS max_block_size = ${blockRows}`,
    );
    blocks.push(Buffer.from(r.body));
  }
  return blocks;
}
async function payloadsOf(v: Variant): Promise<{ columns: string[]; payloads: Buffer[] }> {
  const blockRows = Math.min(BLOCK_ROWS, v.rows);
  if (v.rows % blockRows !== 0) throw new Error(`${v.label}: K must be a multiple of ${blockRows}`);
  const perInsert = v.rows / blockRows;
  const blocks = await blocksOf(blockRows, v.inserts * v.rows);
  const payloads: Buffer[] = [];
  for (let i = 0; i < v.inserts; i++)
    payloads.push(Buffer.concat(blocks.slice(i * perInsert, (i + 1) * perInsert)));
  return { columns: COLUMNS, payloads };
}

/**
 * One request as the store's HTTP layer hands it to the engine for the coalescer's insert. `before`
 * redoes in this process what the store did before session 6, for A/B within one run (the engine
 * is one per process): `sets`, one SET statement per setting (5 engine calls, not 1); `spool`, a
 * payload file created, written and unlinked per insert (the engine now reuses one file; here the
 * payload is written twice, to that file too, so this variant also pays one extra write).
 */
async function insert(columns: string[], payload: Buffer, before: string) {
  const settings = new Map<string, string>([
    ["max_execution_time", "30"],
    ["max_memory_usage", "2000000000"],
    ["output_format_json_quote_64bit_integers", "1"],
    ["deduplicate_blocks_in_dependent_materialized_views", "1"],
    ["insert_deduplication_token", `bench-${process.pid}-${++tokens}`],
  ]);
  const sets =
    before === "sets" || before === "old"
      ? renderSetStatements(settings)[0]
          ?.slice("SET ".length)
          .split(/, (?=[a-z_]+ = )/)
          .map((a) => `SET ${a}`)
      : renderSetStatements(settings);
  const oldSpool = before === "spool" || before === "old" ? join(spoolDir, `old-${tokens}.data`) : undefined;
  if (oldSpool) await writeFile(oldSpool, payload);
  try {
    return await engine.run({
      setStatements: sets ?? [],
      database: "bench",
      sql: `INSERT INTO l4_flow_log (${columns.join(", ")}) FORMAT Native`,
      format: "TabSeparated",
      params: {},
      insertPayload: payload,
    });
  } finally {
    if (oldSpool) await unlink(oldSpool);
  }
}

const merging = () => scalar("SELECT count() FROM system.merges WHERE database = 'bench'");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Waits until no merge has run for QUIET_MS; returns the wall seconds waited. */
async function quiesce(): Promise<number> {
  const t0 = performance.now();
  let quietSince = performance.now();
  for (;;) {
    await sleep(100);
    if ((await merging()) > 0) quietSince = performance.now();
    else if (performance.now() - quietSince >= QUIET_MS) return (performance.now() - t0) / 1000;
  }
}
async function events(): Promise<Map<string, number>> {
  const r = await sql(
    "SELECT event, value FROM system.events WHERE event IN ('MergedRows', 'Merge', 'InsertedRows', 'MergeTreeDataWriterRows')",
  );
  const m = new Map<string, number>();
  for (const line of Buffer.from(r.body).toString("utf8").split("\n").filter(Boolean)) {
    const [k = "", v = "0"] = line.split("\t");
    m.set(k, Number(v));
  }
  return m;
}

/** `name=value` on both tables, `table.name=value` on that table only; other names reset. */
async function applyTableSettings(v: Variant): Promise<void> {
  const names = new Set(variants.flatMap((x) => x.tableSettings.map(([n]) => n)));
  const on = (t: string, n: string) => !n.includes(".") || n.startsWith(`${t}.`);
  const bare = (n: string) => n.slice(n.indexOf(".") + 1);
  for (const t of TABLES) {
    const set = v.tableSettings.filter(([n]) => on(t, n));
    const reset = [...names].filter((n) => on(t, n) && !set.some(([m]) => m === n)).map(bare);
    if (reset.length > 0) await sql(`ALTER TABLE ${t} RESET SETTING ${reset.join(", ")}`);
    if (set.length > 0)
      await sql(`ALTER TABLE ${t} MODIFY SETTING ${set.map(([n, x]) => `${bare(n)} = ${x}`).join(", ")}`);
  }
}

/** Shapes of the console's reads: a flow by id, top talkers from the flow log, edges from the rollup. */
const READS: [string, string][] = [
  [
    "flow",
    `SELECT * FROM l4_flow_log WHERE org_id = '${ORG}' AND flow_id = 12345 ORDER BY end_time, report_seq LIMIT 10000`,
  ],
  [
    "talkers",
    `SELECT client_ip, sum(bytes_c2s + bytes_s2c) AS b FROM l4_flow_log WHERE org_id = '${ORG}' GROUP BY client_ip ORDER BY b DESC LIMIT 20`,
  ],
  [
    "edges",
    `SELECT server_ip, server_port, sum(bytes) AS b, sum(flows) AS f FROM l4_edge_1h WHERE org_id = '${ORG}' GROUP BY server_ip, server_port ORDER BY b DESC LIMIT 50`,
  ],
];

const per100k = (s: number, rows: number) => ((s * 100_000) / rows).toFixed(3);

try {
  await sql("CREATE DATABASE bench", null);
  for (const m of loadMigrations()) for (const statement of m.statements) await sql(statement);
  await sql("CREATE TABLE l4_stage AS l4_flow_log");
  for (const v of variants) await payloadsOf(v); // every payload encoded before anything is timed
  await quiesce();
  // The polling's own cost while nothing happens, subtracted from each quiescence wait.
  const idle0 = processCpuS();
  const idleT = performance.now();
  await quiesce();
  const idlePerS = (processCpuS() - idle0) / ((performance.now() - idleT) / 1000);
  console.log(
    `bench-insert: data in ${dir}; ${ROUNDS} rounds; idle polling ${(idlePerS * 1000).toFixed(1)} ms CPU/s; load ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`,
  );
  console.log(
    "variant | inserts: CPU s/100k (JS thread) wall s/100k, ms/insert CPU wall | merges after: CPU s/100k, s waited | total CPU s/100k | merged rows / inserted | parts left (flow log, rollup)",
  );
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < variants.length; k++) {
      const v = variants[(k + round) % variants.length] as Variant;
      for (const t of TABLES) await sql(`TRUNCATE TABLE ${t}`);
      await applyTableSettings(v);
      await quiesce();
      const { columns, payloads } = await payloadsOf(v);
      const e0 = await events();
      const c0 = processCpuS();
      const j0 = mainThreadCpuS();
      const t0 = performance.now();
      for (const p of payloads) await insert(columns, p, v.before);
      const wall = (performance.now() - t0) / 1000;
      const cpu = processCpuS() - c0;
      const js = mainThreadCpuS() - j0;
      const c1 = processCpuS();
      const waited = await quiesce();
      const mergeCpu = Math.max(0, processCpuS() - c1 - idlePerS * waited);
      const e1 = await events();
      const rows = v.inserts * v.rows;
      const stored = await scalar("SELECT count() FROM l4_flow_log");
      if (stored !== rows) throw new Error(`${v.label}: ${stored} rows stored, not ${rows}`);
      const parts = await sql(
        `SELECT ${TABLES.map((t) => `countIf(table = '${t}')`).join(", ")} FROM system.parts WHERE database = 'bench' AND active`,
      );
      // Rows outside each table's largest part: what is left for a later merge to rewrite.
      const unmerged = await scalar(
        "SELECT sum(r) FROM (SELECT sum(rows) - max(rows) AS r FROM system.parts WHERE database = 'bench' AND active GROUP BY table)",
      );
      const reads: string[] = [];
      if (values.queries) {
        for (const [name, q] of READS) {
          const ms: number[] = [];
          for (let i = 0; i < 5; i++) {
            const q0 = processCpuS();
            await sql(q);
            ms.push((processCpuS() - q0) * 1000);
          }
          reads.push(`${name} ${(ms.sort((a, b) => a - b)[2] ?? 0).toFixed(1)}`);
        }
      }
      let finalCpu = 0;
      if (values.final) {
        const f0 = processCpuS();
        for (const t of TABLES) await sql(`OPTIMIZE TABLE ${t} FINAL`);
        finalCpu = processCpuS() - f0;
      }
      const merged = (e1.get("MergedRows") ?? 0) - (e0.get("MergedRows") ?? 0);
      console.log(
        [
          `${v.label.padEnd(12)} r${round}`,
          `ins ${per100k(cpu, rows)} (${per100k(js, rows)}) wall ${per100k(wall, rows)}, ${((cpu * 1000) / v.inserts).toFixed(1)} / ${((wall * 1000) / v.inserts).toFixed(1)} ms`,
          `merges ${per100k(mergeCpu, rows)}, ${waited.toFixed(1)} s`,
          `total ${per100k(cpu + mergeCpu, rows)}`,
          ...(values.final
            ? [`final ${per100k(finalCpu, rows)}, all ${per100k(cpu + mergeCpu + finalCpu, rows)}`]
            : []),
          `merged ${(merged / (2 * rows)).toFixed(2)}`,
          `parts ${Buffer.from(parts.body).toString("utf8").trim().replace("\t", ", ")}`,
          `unmerged ${(unmerged / (2 * rows)).toFixed(2)}`,
          ...(reads.length > 0 ? [`reads ms ${reads.join(", ")}`] : []),
        ].join(" | "),
      );
    }
  }
} finally {
  await engine.close();
  rmSync(dir, { recursive: true, force: true });
}
