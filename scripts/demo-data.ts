/**
 * Demo telemetry for one organization: replays real captures (../shared/pcaps and
 * apps/agent/test/captures) through the agent's analyze API once, then writes copies of the
 * resulting rows with times shifted into the last `--hours` (ending now) and addresses rewritten
 * per copy (clients spread over 172.16-31.x.x, servers over eight 10.10x.x.x instances; flow ids,
 * trace ids and X-Request-IDs made unique per copy), through recordRows.
 *
 *   CLICKHOUSE_URL=http://127.0.0.1:8123 node --import tsx scripts/demo-data.ts \
 *     --org <uuid> [--rows 50000] [--hours 24] [--agent <uuid>] [--database flowplane]
 *
 * `--rows` counts L4 flow reports; L7, network and application metric rows come in the
 * proportions the captures have. Progress goes to stderr; the last stdout line is a JSON summary.
 */
import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { analyzeFile } from "@flowplane/agent";
import { envFields, loadEnvOrExit } from "@flowplane/core/env";
import { createLogger } from "@flowplane/core/log";
import { sharedPcapsDir } from "@flowplane/core/shared-dir";
import { createClickhouse, recordRows, type TRowTableName } from "@flowplane/query";
import { z } from "zod";

const log = createLogger("demo-data");
const ROOT = resolve(fileURLToPath(import.meta.url), "../..");

const ZArgs = z.object({
  org: z.uuid(),
  rows: z.coerce.number().int().min(1).max(100_000_000).default(50_000),
  hours: z.coerce
    .number()
    .positive()
    .max(24 * 30)
    .default(24),
  agent: z.uuid().default("0190a1b2-0000-7000-8000-00000000de40"),
  database: envFields.clickhouseDatabase().optional(),
  batch: z.coerce.number().int().min(100).max(200_000).default(20_000),
});

function parseArgs(argv: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a.startsWith("--")) out[a.slice(2)] = argv[i + 1] ?? "";
    if (a.startsWith("--")) i++;
  }
  return out;
}

type Row = Record<string, unknown>;
interface Templates {
  l4: Row[];
  l7: Row[];
  network: Row[];
  app: Row[];
  firstUs: number;
  spanUs: number;
}

/** Every capture through the agent's analyzer once (L4 + L7), rows kept in memory. */
async function analyzeCaptures(orgId: string, agentId: string): Promise<Templates> {
  const dirs = [sharedPcapsDir(), join(ROOT, "apps/agent/test/captures")];
  const t: Templates = { l4: [], l7: [], network: [], app: [], firstUs: Number.POSITIVE_INFINITY, spanUs: 0 };
  for (const dir of dirs) {
    for (const name of readdirSync(dir).filter((n) => /\.(pcap|pcapng)$/.test(n))) {
      // Each capture starts at its own time: rows are re-based to 0 so captures overlap in a copy.
      const rows: { l4: Row[]; l7: Row[]; network: Row[]; app: Row[] } = {
        l4: [],
        l7: [],
        network: [],
        app: [],
      };
      try {
        await analyzeFile(join(dir, name), {
          orgId,
          agentId,
          l7: {},
          onL4: (r) => rows.l4.push(r as unknown as Row),
          onL7: (r) => rows.l7.push(r as unknown as Row),
          onNetworkMetrics: (r) => rows.network.push(r as unknown as Row),
          onAppMetrics: (r) => rows.app.push(r as unknown as Row),
        });
      } catch (err) {
        log.warn({ file: name, err: String(err) }, "capture skipped");
        continue;
      }
      const squeeze = timeSqueezer([
        ...rows.l4.flatMap((r) => [Number(r.start_time), Number(r.end_time)]),
        ...rows.l7.flatMap((r) => [Number(r.start_time), Number(r.end_time)]),
        ...rows.network.map((r) => Number(r.time)),
        ...rows.app.map((r) => Number(r.time)),
      ]);
      if (!squeeze) continue;
      const rebase = (r: Row, keys: string[]) => {
        const c = { ...r };
        for (const k of keys) if (typeof c[k] === "number") c[k] = squeeze(c[k] as number);
        return c;
      };
      t.l4.push(...rows.l4.map((r) => rebase(r, ["start_time", "end_time"])));
      t.l7.push(...rows.l7.map((r) => rebase(r, ["start_time", "end_time"])));
      t.network.push(...rows.network.map((r) => rebase(r, ["time"])));
      t.app.push(...rows.app.map((r) => rebase(r, ["time"])));
    }
  }
  t.firstUs = 0;
  const ends = [...t.l4.map((r) => Number(r.end_time)), ...t.l7.map((r) => Number(r.end_time))];
  t.spanUs = Math.max(1, ...ends);
  return t;
}

/**
 * Some captures are concatenations spanning years: this maps a capture's times onto 0.. with every
 * gap above a minute squeezed to one second (monotonic, so end >= start still holds).
 */
function timeSqueezer(times: number[]): ((t: number) => number) | undefined {
  const sorted = [...new Set(times.filter((t) => Number.isFinite(t)))].sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  const base = sorted[0] as number;
  const gapStarts: number[] = [];
  const removed: number[] = [];
  let cut = 0;
  for (let i = 1; i < sorted.length; i++) {
    const gap = (sorted[i] as number) - (sorted[i - 1] as number);
    if (gap > 60_000_000) {
      cut += gap - 1_000_000;
      gapStarts.push(sorted[i] as number);
      removed.push(cut);
    }
  }
  return (t: number) => {
    let lo = 0;
    let hi = gapStarts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((gapStarts[mid] as number) <= t) lo = mid + 1;
      else hi = mid;
    }
    return t - base - (lo > 0 ? (removed[lo - 1] as number) : 0);
  };
}

function rewriteIp(ip: unknown, role: "client" | "server", k: number): unknown {
  if (typeof ip !== "string") return ip;
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(ip);
  if (!m) return ip;
  return role === "server"
    ? `10.${100 + (k % 8)}.${m[3]}.${m[4]}`
    : `172.${16 + (k % 16)}.${(k >> 4) % 256}.${m[4]}`;
}

const FLOW_STRIDE = 1n << 40n;

/** Copy `k` of a template row: times shifted by `shiftUs`, addresses and ids made its own. */
function copyRow(r: Row, k: number, shiftUs: number, timeKeys: string[]): Row {
  const c: Row = { ...r };
  for (const key of timeKeys) if (typeof c[key] === "number") c[key] = (c[key] as number) + shiftUs;
  if ("client_ip" in c) c.client_ip = rewriteIp(c.client_ip, "client", k);
  if ("server_ip" in c) c.server_ip = rewriteIp(c.server_ip, "server", k);
  if (c.flow_id !== undefined)
    c.flow_id = ((BigInt(String(c.flow_id)) % FLOW_STRIDE) + BigInt(k) * FLOW_STRIDE).toString();
  if (typeof c.trace_id === "string" && c.trace_id) c.trace_id = `${c.trace_id}-${k}`;
  if (typeof c.x_request_id === "string" && c.x_request_id) c.x_request_id = `${c.x_request_id}-${k}`;
  return c;
}

function bar(done: number, total: number, started: number): void {
  if (!process.stderr.isTTY && done < total && done % 5 !== 0) return;
  const width = 30;
  const frac = Math.min(1, done / total);
  const rate = done / Math.max(0.001, (performance.now() - started) / 1000);
  process.stderr.write(
    `\r[${"#".repeat(Math.round(frac * width)).padEnd(width, ".")}] ${(frac * 100).toFixed(0).padStart(3)}% ${done.toLocaleString("en-US")}/${total.toLocaleString("en-US")} L4 rows · ${Math.round(rate).toLocaleString("en-US")} rows/s${done >= total ? "\n" : ""}`,
  );
}

async function main(): Promise<void> {
  const args = ZArgs.parse(parseArgs(process.argv.slice(2)));
  const env = loadEnvOrExit(
    z.object({
      CLICKHOUSE_URL: envFields.clickhouseUrl(),
      CLICKHOUSE_DATABASE: envFields.clickhouseDatabase(),
    }),
  );
  const client = createClickhouse({
    url: env.CLICKHOUSE_URL,
    database: args.database ?? env.CLICKHOUSE_DATABASE,
  });
  const started = performance.now();
  const tpl = await analyzeCaptures(args.org, args.agent);
  if (tpl.l4.length === 0) throw new Error("the captures produced no L4 rows");
  log.info(
    {
      l4: tpl.l4.length,
      l7: tpl.l7.length,
      network: tpl.network.length,
      app: tpl.app.length,
      ms: Math.round(performance.now() - started),
    },
    "captures analyzed",
  );
  const copies = Math.ceil(args.rows / tpl.l4.length);
  const windowUs = args.hours * 3_600_000_000;
  const endUs = Date.now() * 1000;
  const totals = { l4_flow_log: 0, l7_flow_log: 0, network_metrics: 0, application_metrics: 0 };
  const pending: Record<TRowTableName, Row[]> = {
    l4_flow_log: [],
    l7_flow_log: [],
    network_metrics: [],
    application_metrics: [],
  } as Record<TRowTableName, Row[]>;
  let rejected = 0;
  const flush = async (table: keyof typeof totals, force = false) => {
    const rows = pending[table];
    if (rows.length === 0 || (!force && rows.length < args.batch)) return;
    pending[table] = [];
    const r = await recordRows(client, table, args.org, rows, { agentId: args.agent });
    totals[table] += r.inserted;
    rejected += r.rejected.length;
    if (r.rejected[0]) log.warn({ table, first: r.rejected[0] }, "rows rejected");
  };
  const insertStarted = performance.now();
  let l4Written = 0;
  for (let k = 0; k < copies && l4Written < args.rows; k++) {
    // Copies spread evenly over the window, the last one ending now.
    const shift = endUs - windowUs + Math.floor(((k + 1) / copies) * (windowUs - tpl.spanUs));
    const take = Math.min(tpl.l4.length, args.rows - l4Written);
    for (let i = 0; i < take; i++)
      pending.l4_flow_log.push(copyRow(tpl.l4[i] as Row, k, shift, ["start_time", "end_time"]));
    l4Written += take;
    const frac = take / tpl.l4.length;
    const part = <T>(rows: T[]) => rows.slice(0, Math.ceil(rows.length * frac));
    for (const r of part(tpl.l7)) pending.l7_flow_log.push(copyRow(r, k, shift, ["start_time", "end_time"]));
    for (const r of part(tpl.network)) pending.network_metrics.push(copyRow(r, k, shift, ["time"]));
    for (const r of part(tpl.app)) pending.application_metrics.push(copyRow(r, k, shift, ["time"]));
    for (const table of Object.keys(totals) as (keyof typeof totals)[]) await flush(table);
    bar(l4Written, args.rows, insertStarted);
  }
  for (const table of Object.keys(totals) as (keyof typeof totals)[]) await flush(table, true);
  bar(args.rows, args.rows, insertStarted);
  await client.close();
  const summary = {
    org: args.org,
    copies,
    ...totals,
    rejected,
    seconds: +((performance.now() - started) / 1000).toFixed(1),
  };
  log.info(summary, "demo data written");
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

main().catch((err) => {
  log.error({ err }, "demo data failed");
  process.exit(1);
});
