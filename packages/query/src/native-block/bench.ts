/**
 * Native blocks against the TSV path, in process: `npx tsx packages/query/src/native-block/bench.ts
 * [--rows 200000] [--batch 5000] [--rounds 5]`. CPU seconds per 100 k L4 rows (the ingest bench's
 * rows) of (a) the agent's encode, (b) the controller's check and re-encode, (c) chDB's insert of
 * the resulting payload through the store's engine (written to a file, INSERT ... FROM INFILE, as
 * the store does), beside the ceiling (the same rows as ClickHouse's own Native via file()). The
 * variants alternate within each round; the best of the rounds is printed, with every round. Run
 * as `node --expose-gc --import tsx packages/query/src/native-block/bench.ts` for steadier (a) and
 * (b): the collector then runs before each step.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { l4Row } from "../../../../apps/controller/src/ingest/bench-rows.ts";
import { ChdbEngine } from "../../../../apps/controller/src/store/engine.ts";
import { loadMigrations } from "../ddl/index.ts";
import { TsvRows, tsvNativeStatus } from "../record-tsv.ts";
import { ROW_TABLES } from "../rows/index.ts";
import { encodeTsvLines, wireColumns } from "../rows/wire-tsv.ts";
import { encodeNativeBlock } from "./encode.ts";
import { validateNativeBlock } from "./validate.ts";

const { values } = parseArgs({
  options: {
    rows: { type: "string", default: "200000" },
    batch: { type: "string", default: "5000" },
    rounds: { type: "string", default: "5" },
    /** Rows per store insert (whole batches); default: the whole run in one insert, as the ceiling. */
    "insert-rows": { type: "string" },
  },
});
const ROWS = Number(values.rows);
const BATCH = Number(values.batch);
const ROUNDS = Number(values.rounds);
const INSERT_BATCHES = values["insert-rows"]
  ? Math.max(1, Math.round(Number(values["insert-rows"]) / BATCH))
  : 0;
const ORG = "3f0c5a2e-8d1b-4c6f-9a7e-2b4d6f8a0c1e";
const AGENT = "7a9b1c3d-5e7f-4a1b-8c2d-4e6f8a0b2c4d";
const L4 = ROW_TABLES.l4_flow_log;
const COLUMNS = wireColumns(L4);

const nowUs = Date.now() * 1000;
const batches: Record<string, unknown>[][] = [];
for (let i = 0; i < ROWS; i += BATCH)
  batches.push(Array.from({ length: Math.min(BATCH, ROWS - i) }, (_, k) => l4Row(i + k, nowUs)));

const per100k = (cpu: NodeJS.CpuUsage) => ((cpu.user + cpu.system) / 1e6) * (100_000 / ROWS);
// Run with --expose-gc: a collection before each step keeps one step's garbage off the next's bill.
const gc = (globalThis as { gc?: () => void }).gc;
function cpuOf(fn: () => void): number {
  gc?.();
  const c = process.cpuUsage();
  fn();
  return per100k(process.cpuUsage(c));
}
async function cpuOfAsync(fn: () => Promise<void>): Promise<number> {
  const c = process.cpuUsage();
  await fn();
  return per100k(process.cpuUsage(c));
}

// What each side produces, kept from the last round for the next step.
let tsvBodies: Buffer[] = [];
let nativeBlocks: Buffer[] = [];
let tsvPayloads: Buffer[] = [];
let nativePayloads: Buffer[] = [];
let nativeColumns: string[] = [];
const tagger = (ips: Uint8Array) => new Uint32Array(ips.length >> 4);

const steps: Record<string, () => void> = {
  "(a) agent encode, TSV": () => {
    // The exporter's body: a JSON header line, then the lines (apps/agent/src/controller-link/exporter.ts).
    tsvBodies = batches.map((rows) =>
      Buffer.from(
        `${JSON.stringify({ table: "l4_flow_log", columns: COLUMNS, rows: rows.length })}\n${encodeTsvLines(L4, COLUMNS, rows)}`,
      ),
    );
  },
  "(a) agent encode, Native": () => {
    nativeBlocks = batches.map((rows) => encodeNativeBlock("l4_flow_log", rows));
  },
  "(b) controller, TSV (TsvRows split + encode)": () => {
    tsvPayloads = tsvBodies.map((body, i) => {
      const start = body.indexOf(10) + 1;
      const rows = new TsvRows("l4_flow_log", COLUMNS, body, start, (batches[i] as unknown[]).length);
      const enc = rows.encode(ORG, AGENT);
      rows.release();
      if (enc.rejected.length > 0) throw new Error(enc.rejected[0]?.error);
      return enc.payload;
    });
  },
  "(b) controller, Native (validate + org/agent)": () => {
    nativePayloads = nativeBlocks.map((b) => {
      const res = validateNativeBlock(b, { table: "l4_flow_log", orgId: ORG, agentId: AGENT });
      if (!res.ok) throw new Error(res.error);
      nativeColumns = res.columns;
      return res.payload;
    });
  },
  "(b) controller, Native + 2 tag columns (tagger returns zeros)": () => {
    nativePayloads = nativeBlocks.map((b) => {
      const res = validateNativeBlock(b, {
        table: "l4_flow_log",
        orgId: ORG,
        agentId: AGENT,
        tags: [
          { column: "client_resource_id", from: "client_ip", ids: tagger },
          { column: "server_resource_id", from: "server_ip", ids: tagger },
        ],
      });
      if (!res.ok) throw new Error(res.error);
      nativeColumns = res.columns;
      return res.payload;
    });
  },
};

const results = new Map<string, number[]>();
const note = (k: string, v: number) => results.set(k, [...(results.get(k) ?? []), v]);
for (let r = 0; r < ROUNDS; r++) for (const [k, fn] of Object.entries(steps)) note(k, cpuOf(fn));
const bytes = (bs: Buffer[]) => bs.reduce((s, b) => s + b.length, 0) / ROWS;
const wire = {
  tsv: bytes(tsvBodies),
  native: bytes(nativeBlocks),
  tsvPayload: bytes(tsvPayloads),
  nativePayload: bytes(nativePayloads),
};

// (c) The payloads as one insert each (the whole run, like the ceiling), through the store's engine.
const dir = mkdtempSync(join(tmpdir(), "fp-native-bench-"));
const engine = new ChdbEngine(join(dir, "data"));
const run = (sql: string, insertPayload?: Buffer, database = "nb", setStatements: string[] = []) =>
  engine.run({
    setStatements,
    database,
    sql,
    format: "TabSeparated",
    params: {},
    ...(insertPayload ? { insertPayload } : {}),
  });
try {
  await engine.run({
    setStatements: [],
    database: undefined,
    sql: "CREATE DATABASE nb",
    format: "TabSeparated",
    params: {},
  });
  for (const m of loadMigrations()) for (const statement of m.statements) await run(statement);
  await run("CREATE TABLE l4_stage AS l4_flow_log");
  const tsvAll = Buffer.concat(tsvPayloads);
  const nativeAll = Buffer.concat(nativePayloads);
  // Inserts of INSERT_BATCHES batches each (several agents' batches concatenated), or one.
  const groups = (ps: Buffer[]) => {
    if (!INSERT_BATCHES) return [Buffer.concat(ps)];
    const out: Buffer[] = [];
    for (let i = 0; i < ps.length; i += INSERT_BATCHES)
      out.push(Buffer.concat(ps.slice(i, i + INSERT_BATCHES)));
    return out;
  };
  const tsvInserts = groups(tsvPayloads);
  const nativeInserts = groups(nativePayloads);
  const tsvCols = [...Object.keys(L4.columns)].join(", ");
  await run(
    `INSERT INTO l4_stage (${tsvCols}) SETTINGS input_format_tsv_empty_as_default = 1 FORMAT TabSeparated`,
    tsvAll,
  );
  const ceilingFile = join(dir, "ceiling.native");
  writeFileSync(
    ceilingFile,
    (
      await engine.run({
        setStatements: [],
        database: "nb",
        sql: "SELECT * FROM l4_stage FORMAT Native",
        format: "Native",
        params: {},
      })
    ).body,
  );
  // As insertEncoded sends an insert (settings as SET statements, the store's way to apply them).
  const sets = (token: string) => [
    "SET input_format_tsv_empty_as_default = 1",
    "SET deduplicate_blocks_in_dependent_materialized_views = 1",
    `SET insert_deduplication_token = '${token}'`,
    "SET input_format_parallel_parsing = 0",
  ];
  const inserts: Record<string, (r: number) => Promise<unknown>> = {
    "(c) store insert, TSV payload (from a file)": async (r) => {
      for (const [i, p] of tsvInserts.entries())
        await run(`INSERT INTO l4_flow_log (${tsvCols}) FORMAT TabSeparated`, p, "nb", sets(`t${r}-${i}`));
    },
    "(c) store insert, Native payload (from a file)": async (r) => {
      for (const [i, p] of nativeInserts.entries())
        await run(
          `INSERT INTO l4_flow_log (${nativeColumns.join(", ")}) FORMAT Native`,
          p,
          "nb",
          sets(`n${r}-${i}`),
        );
    },
    "(c) ceiling: ClickHouse's own Native, file()": () =>
      run(`INSERT INTO l4_flow_log SELECT * FROM file('${ceilingFile}', Native)`),
  };
  for (let r = 0; r < ROUNDS; r++) {
    for (const [k, fn] of Object.entries(inserts)) {
      await run("TRUNCATE TABLE l4_flow_log");
      await run("TRUNCATE TABLE l4_edge_1h");
      note(
        k,
        await cpuOfAsync(async () => {
          await fn(r);
        }),
      );
      const n = Number(Buffer.from((await run("SELECT count() FROM l4_flow_log")).body).toString());
      if (n !== ROWS) throw new Error(`${k}: ${n} rows stored, not ${ROWS}`);
    }
  }
  // The stored rows of the two paths must be the same (checked on the last round's tables).
  const digest = async (sql: string) =>
    Buffer.from((await run(sql)).body)
      .toString()
      .trim();
  await run("TRUNCATE TABLE l4_flow_log");
  await run(`INSERT INTO l4_flow_log (${tsvCols}) FORMAT TabSeparated`, tsvAll, "nb", sets("check-t"));
  const hashOf = "SELECT groupBitXor(cityHash64(*)) FROM l4_flow_log";
  const tsvHash = await digest(hashOf);
  await run("TRUNCATE TABLE l4_flow_log");
  await run(
    `INSERT INTO l4_flow_log (${nativeColumns.join(", ")}) FORMAT Native`,
    nativeAll,
    "nb",
    sets("check-n"),
  );
  const nativeHash = await digest(hashOf);
  console.log(
    `native-block bench${gc ? " (gc before each step)" : ""}: ${ROWS} L4 rows in batches of ${BATCH}, ${INSERT_BATCHES ? `inserts of ${INSERT_BATCHES * BATCH} rows` : "one insert"}, ${ROUNDS} rounds, ${new Date().toISOString()}, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}; ${tsvNativeStatus()}`,
  );
  console.log(
    `stored rows identical (hash of every column): ${tsvHash === nativeHash ? "yes" : `NO (${tsvHash} vs ${nativeHash})`}`,
  );
  console.log(
    `bytes per row: agent TSV ${wire.tsv.toFixed(1)}, agent Native ${wire.native.toFixed(1)}; insert TSV ${wire.tsvPayload.toFixed(1)}, insert Native ${wire.nativePayload.toFixed(1)}`,
  );
  console.log("CPU s per 100 k rows: best (all rounds)");
  for (const [k, v] of results)
    console.log(`  ${k.padEnd(62)} ${Math.min(...v).toFixed(3)}  (${v.map((x) => x.toFixed(3)).join(", ")})`);
} finally {
  await engine.close();
  rmSync(dir, { recursive: true, force: true });
}
