/**
 * Insert throughput of L4 rows through @clickhouse/client → store (or CLICKHOUSE_URL):
 * `node --import tsx packages/query/bench/insert-throughput.ts [rows]`. Prints rows/s for raw
 * JSONEachRow inserts and for recordRows (zod validation included).
 */
import { recordRows } from "../src/client.ts";
import { encodeRow, L4FlowLog, ZL4FlowLogRow } from "../src/rows/index.ts";
import { createTestClickhouse } from "../src/testing.ts";
import { l4Row, ORG_A } from "../src/testing-fixtures.ts";

const total = Number(process.argv[2] ?? 100_000);
const batch = 20_000;
const ch = await createTestClickhouse("bench");
try {
  const base = Date.now() * 1000;
  const rows = Array.from({ length: total }, (_, i) =>
    l4Row({
      flow_id: String(1_000_000 + i),
      start_time: base + i * 10,
      end_time: base + i * 10 + 5_000,
      client_ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
      client_port: 1024 + (i % 60_000),
      server_port: [80, 443, 5432, 6379][i % 4] as number,
      bytes_c2s: i % 100_000,
      packets_c2s: i % 1000,
    }),
  );
  const encoded = rows.map((r) => encodeRow(L4FlowLog, ZL4FlowLogRow.parse(r)));

  let t = performance.now();
  for (let i = 0; i < total; i += batch) {
    await ch.client.insert({
      table: "l4_flow_log",
      values: encoded.slice(i, i + batch),
      format: "JSONEachRow",
    });
  }
  const rawS = (performance.now() - t) / 1000;

  t = performance.now();
  for (let i = 0; i < total; i += batch) {
    const res = await recordRows(ch.client, "l4_flow_log", ORG_A, rows.slice(i, i + batch));
    if (res.rejected.length) throw new Error(`rejected: ${res.rejected[0]?.error}`);
  }
  const recS = (performance.now() - t) / 1000;

  const rs = await ch.client.query({ query: "SELECT count() AS n FROM l4_flow_log", format: "JSONEachRow" });
  const [{ n }] = (await rs.json()) as [{ n: string }];
  if (Number(n) !== total * 2) throw new Error(`expected ${total * 2} rows, found ${n}`);
  t = performance.now();
  await ch.client.query({
    query: "SELECT server_port, sum(bytes_c2s) FROM l4_flow_log GROUP BY server_port",
    format: "JSONEachRow",
  });
  const aggMs = performance.now() - t;
  console.log(
    `rows: ${total} in batches of ${batch} (${L4FlowLog.name}, ${Object.keys(L4FlowLog.columns).length} columns)`,
  );
  console.log(`client.insert JSONEachRow: ${Math.round(total / rawS)} rows/s (${rawS.toFixed(2)} s)`);
  console.log(`recordRows (zod + insert): ${Math.round(total / recS)} rows/s (${recS.toFixed(2)} s)`);
  console.log(`group-by over ${total * 2} rows: ${aggMs.toFixed(0)} ms`);
} finally {
  await ch.drop();
}
