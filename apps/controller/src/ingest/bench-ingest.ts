/**
 * Ingest benchmark: L4 rows/s from agent batches (the agent's HttpExporter → POST /v1/ingest →
 * recordRows → the embedded store over HTTP), beside the ceiling: the very same rows, as the
 * engine's own TSV, bulk-inserted straight into chDB in this process. Prints both and the ratio.
 *
 *   node --import tsx apps/controller/src/ingest/bench-ingest.ts [--rows 200000] [--batch 5000] [--concurrency 4] [--tagging]
 *
 * `--tagging` adds a run of the same rows through a second controller whose writer tags them
 * (AutoTagging, apps/controller/src/tagging) for an org with a resource model, and prints it
 * beside the untagged run.
 *
 * The controller runs in this process (one ingest process) and the store in its own process, as
 * in production; the sender shares the controller's process, which understates ingest a little.
 */
import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createLogger } from "@flowplane/core/log";
import { seedAgentGroup, seedEnrollmentToken, seedOrg } from "@flowplane/db/seed";
import { createTestDatabase } from "@flowplane/db/testing";
import { createTestClickhouse } from "@flowplane/query/testing";
import {
  CredentialHolder,
  enroll,
  HttpExporter,
  makeBatch,
} from "../../../agent/src/controller-link/index.ts";
import { createAgentRuntime } from "../agents/wiring.ts";
import { buildControllerServer } from "../http/server.ts";
import { ChdbEngine } from "../store/engine.ts";
import { benchTaggedIngest, measureTagColumnBytes } from "../tagging/bench.ts";

const { values } = parseArgs({
  options: {
    rows: { type: "string", default: "200000" },
    batch: { type: "string", default: "5000" },
    concurrency: { type: "string", default: "4" },
    tagging: { type: "boolean", default: false },
  },
});
const ROWS = Number(values.rows);
const BATCH = Number(values.batch);
const CONCURRENCY = Number(values.concurrency);
const redisUrl = "redis://127.0.0.1:6379";

function l4Row(i: number, nowUs: number) {
  return {
    flow_id: String(i + 1),
    start_time: nowUs - 5_000_000 + (i % 1000),
    end_time: nowUs + (i % 1000),
    client_ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    client_port: 1024 + (i % 60_000),
    server_ip: `10.200.${(i >> 8) & 15}.${i & 255}`,
    server_port: [80, 443, 53, 3306, 6379][i % 5] as number,
    ip_protocol: i % 5 === 2 ? 17 : 6,
    vlan: 0,
    tunnel_type: "",
    tunnel_id: 0,
    tunnel_outer_src: "",
    tunnel_outer_dst: "",
    packets_c2s: 10 + (i % 7),
    packets_s2c: 12 + (i % 11),
    bytes_c2s: 1200 + i,
    bytes_s2c: 9000 + i,
    close_type: "fin",
    tcp_flags_c2s: 0x1b,
    tcp_flags_s2c: 0x1b,
    rtt_us: 250,
    rtt_client_us: 100,
    rtt_server_us: 150,
    srt_us: 900,
    syn_count: 1,
    synack_count: 1,
    retrans_c2s: i % 13 === 0 ? 1 : 0,
    retrans_s2c: 0,
    zero_win_c2s: 0,
    zero_win_s2c: 0,
    out_of_order_c2s: 0,
    out_of_order_s2c: 0,
    l7_protocol: ["http", "tls", "dns", "mysql", "redis"][i % 5] as string,
  };
}

const log = createLogger("bench-ingest");
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
const ceilingDir = mkdtempSync(join(tmpdir(), "fp-bench-ceiling-"));
try {
  const org = await seedOrg(tdb.db);
  const group = await seedAgentGroup(tdb.db, org.id);
  const token = await seedEnrollmentToken(tdb.db, org.id, group.id);
  const agent = await enroll(url, {
    enrollmentToken: token.token,
    hostname: "bench",
    ips: [],
    agentVersion: "bench",
    os: "linux",
  });
  const exporter = new HttpExporter({
    endpoint: () => url,
    credential: new CredentialHolder(agent.credential),
    deadlineMs: 120_000,
  });

  const nowUs = Date.now() * 1000;
  const batches: ReturnType<typeof makeBatch>[] = [];
  for (let start = 0; start < ROWS; start += BATCH) {
    const rows: ReturnType<typeof l4Row>[] = [];
    for (let i = start; i < Math.min(ROWS, start + BATCH); i++) rows.push(l4Row(i, nowUs));
    batches.push(makeBatch(agent.agentId, "l4_flow_log", rows));
  }

  // Warm-up (JIT, connections, first parts) on a separate org-less batch id, not counted.
  await exporter.export(makeBatch(agent.agentId, "l4_flow_log", [l4Row(ROWS + 1, nowUs)]));

  let next = 0;
  let accepted = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
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
  const ingestS = (performance.now() - t0) / 1000;

  // The same rows, as the engine's own TSV, straight into chDB (a fresh data directory).
  const tsv = Buffer.from(
    await (
      await ch.client.query({
        query: "SELECT * FROM l4_flow_log WHERE org_id = {org:UUID} ORDER BY flow_id",
        query_params: { org: org.id },
        format: "TabSeparated",
      })
    ).text(),
  );
  const ddl = (
    await (
      await ch.client.query({ query: "SHOW CREATE TABLE l4_flow_log", format: "TabSeparatedRaw" })
    ).text()
  ).trim();
  const engine = new ChdbEngine(ceilingDir);
  const run = (sql: string, insertPayload?: Buffer) =>
    engine.run({
      setStatements: [],
      database: undefined,
      sql,
      format: "TabSeparated",
      params: {},
      ...(insertPayload ? { insertPayload } : {}),
    });
  await run(`CREATE DATABASE IF NOT EXISTS ${ch.database}`);
  await run(ddl.replace(/\sTTL\s[^\n]*\n/g, "\n"));
  const t1 = performance.now();
  const ceiling = await run(`INSERT INTO ${ch.database}.l4_flow_log FORMAT TabSeparated`, tsv);
  const ceilingS = (performance.now() - t1) / 1000;
  await engine.close();

  // ── AutoTagging: the same rows through a tagging controller (another org with resources) ──
  const tagged = values.tagging
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
  const tagBytes = values.tagging ? await measureTagColumnBytes(ch.client) : undefined;

  const ingestRate = accepted / ingestS;
  const ceilingRate = ceiling.rowsWritten / ceilingS;
  console.log(
    [
      `ingest bench: ${ROWS} L4 rows in batches of ${BATCH}, ${CONCURRENCY} in flight`,
      `  agent batches -> controller -> store: ${Math.round(ingestRate).toLocaleString("en")} rows/s (${accepted} rows, ${ingestS.toFixed(2)} s)`,
      `  direct chDB insert, engine TSV     : ${Math.round(ceilingRate).toLocaleString("en")} rows/s (${ceiling.rowsWritten} rows, ${ceilingS.toFixed(2)} s)`,
      `  ratio: ${((100 * ingestRate) / ceilingRate).toFixed(1)} % of the ceiling (target >= 70 %)`,
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
} finally {
  await app.close();
  await runtime.close();
  await ch.drop();
  await tdb.drop();
  rmSync(ceilingDir, { recursive: true, force: true });
}
