/**
 * The side of a multi-worker analysis that gathers what the shard workers send back, shared by
 * the decode-in-every-worker (sharded-analyze.ts) and decode-once (dispatch-analyze.ts) runs:
 * rows are passed on as they arrive, per-second metrics rows of the same key are summed (one
 * key can have flows in several shards), and at the end each worker's part files are joined.
 */
import {
  closeSync,
  existsSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import type { MessagePort } from "node:worker_threads";
import type { AnalyzeOptions } from "../analyze.ts";
import type { AppMetricsRow, L7Row } from "../l7/index.ts";
import { METRIC_FIELDS } from "../metrics/network-metrics.ts";
import { JsonlWriter } from "../output/jsonl-writer.ts";
import type { L4FlowRow, NetworkMetricsRow } from "./flow-engine.ts";

/** Row messages every shard worker posts (each runner adds its own "done"). */
export type ShardRowsMsg =
  | { type: "l4"; rows: L4FlowRow[] }
  | { type: "nm"; rows: NetworkMetricsRow[] }
  | { type: "l7"; rows: L7Row[] }
  | { type: "am"; rows: AppMetricsRow[] }
  | CompactRowsMsg;

/**
 * Rows of one shape as numbers (`CompactRows`): per row, per column in `keys` order, a string's
 * index in the shard's string table (`strings` are the entries new since its previous message),
 * a number, or an array's length and then its numbers.
 */
export interface CompactRowsMsg {
  type: "amc";
  shard: number;
  keys: string[];
  kinds: Uint8Array;
  strings: string[];
  nums: Float64Array;
  rows: number;
}

const STR = 0;
const NUM = 1;
const NUMS = 2;

/**
 * Application-metrics rows a worker sends its parent, as numbers and a string table instead of
 * objects: structured clone cost ~1.5-2.6 µs a row to serialize in the worker and 3-5 µs to
 * read back here (91 k rows on web-1m.pcap, ~0.4-0.5 s of the reading thread's CPU). A row of
 * another shape or with another kind of value goes as an object (`am`), in order.
 */
export class CompactRows {
  private keys: string[] | null = null;
  private kinds = new Uint8Array(0);
  private nums = new Float64Array(1 << 14);
  private n = 0;
  private rows = 0;
  private readonly table = new Map<string, number>();
  private fresh: string[] = [];
  /**
   * Per column, the previous row's string and its id: most columns repeat (org, agent, server,
   * protocol), and a string compared with itself skips the table's hash lookup.
   */
  private lastStr: (string | undefined)[] = [];
  private lastId = new Float64Array(0);

  constructor(
    private readonly port: MessagePort,
    private readonly shard: number,
    private readonly size = 2000,
  ) {}

  readonly push = (r: AppMetricsRow): void => {
    const row = r as unknown as Record<string, unknown>;
    if (this.keys === null) this.shapeOf(row);
    if (!this.encode(row)) {
      this.flush();
      this.port.postMessage({ type: "am", rows: [r] });
      return;
    }
    if (++this.rows >= this.size) this.flush();
  };

  private shapeOf(row: Record<string, unknown>): void {
    const keys = Object.keys(row);
    const kinds = new Uint8Array(keys.length);
    for (let i = 0; i < keys.length; i++) {
      const v = row[keys[i]!];
      kinds[i] = typeof v === "string" ? STR : typeof v === "number" ? NUM : NUMS;
    }
    this.keys = keys;
    this.kinds = kinds;
    this.lastStr = new Array(keys.length).fill(undefined);
    this.lastId = new Float64Array(keys.length);
  }

  /** Appends the row's numbers; false (nothing appended) when it does not fit the shape. */
  private encode(row: Record<string, unknown>): boolean {
    const keys = this.keys!;
    const kinds = this.kinds;
    const start = this.n;
    let i = 0;
    for (const k in row) {
      if (k !== keys[i]) break;
      const v = row[k];
      const kind = kinds[i]!;
      if (kind === STR) {
        if (typeof v !== "string") break;
        if (v !== this.lastStr[i]) {
          let id = this.table.get(v);
          if (id === undefined) {
            id = this.table.size;
            this.table.set(v, id);
            this.fresh.push(v);
          }
          this.lastStr[i] = v;
          this.lastId[i] = id;
        }
        this.put(this.lastId[i]!);
      } else if (kind === NUM) {
        if (typeof v !== "number") break;
        this.put(v);
      } else {
        if (!Array.isArray(v)) break;
        this.put(v.length);
        let j = 0;
        for (; j < v.length; j++) {
          const x = v[j];
          if (typeof x !== "number") break;
          this.put(x);
        }
        if (j < v.length) break;
      }
      i++;
    }
    if (i === keys.length && this.n > start) return true;
    this.n = start;
    return false;
  }

  private put(x: number): void {
    if (this.n === this.nums.length) {
      const nb = new Float64Array(this.nums.length * 2);
      nb.set(this.nums);
      this.nums = nb;
    }
    this.nums[this.n++] = x;
  }

  flush(): void {
    if (this.rows === 0 || this.keys === null) return;
    const nums = this.nums.slice(0, this.n);
    const msg: CompactRowsMsg = {
      type: "amc",
      shard: this.shard,
      keys: this.keys,
      kinds: this.kinds,
      strings: this.fresh,
      nums,
      rows: this.rows,
    };
    this.port.postMessage(msg, [nums.buffer]);
    this.fresh = [];
    this.n = 0;
    this.rows = 0;
  }
}

type CompactReader = (nums: Float64Array, table: string[], at: { p: number }) => Record<string, unknown>;

export class ShardRows {
  private readonly metrics = new Map<string, NetworkMetricsRow>();
  private readonly appMetrics = new Map<string, AppMetricsRow>();
  /** Each worker's string table (`CompactRows`). */
  private readonly tables = new Map<number, string[]>();

  constructor(private readonly opts: AnalyzeOptions) {}

  add(msg: ShardRowsMsg): void {
    if (msg.type === "l4") for (const r of msg.rows) this.opts.onL4?.(r);
    else if (msg.type === "nm") for (const r of msg.rows) this.metric(r);
    else if (msg.type === "l7") for (const r of msg.rows) this.opts.onL7?.(r);
    else if (msg.type === "am") for (const r of msg.rows) this.appMetric(r, true);
    else this.addCompact(msg);
  }

  /** Rows of a `CompactRows` message, rebuilt as objects (keys in the shard's order). */
  private addCompact(msg: CompactRowsMsg): void {
    let table = this.tables.get(msg.shard);
    if (!table) {
      table = [];
      this.tables.set(msg.shard, table);
    }
    for (const s of msg.strings) table.push(s);
    const read = this.readerOf(msg.keys, msg.kinds);
    const at = { p: 0 };
    for (let r = 0; r < msg.rows; r++)
      this.appMetric(read(msg.nums, table, at) as unknown as AppMetricsRow, true);
  }

  private readonly readers = new Map<string, CompactReader>();

  /**
   * One row's reader for a shape, generated once: an object literal of the shape's keys (one
   * hidden class, fast properties) instead of a keyed store per column into an empty object,
   * which went megamorphic (~0.1 s of this thread on web-1m.pcap's 115 k rows).
   */
  private readerOf(keys: string[], kinds: Uint8Array): CompactReader {
    const id = `${keys.join(",")}|${kinds.join(",")}`;
    let read = this.readers.get(id);
    if (read) return read;
    const lines = ["let p = at.p;"];
    for (let i = 0; i < keys.length; i++) {
      if (kinds[i] === STR) lines.push(`const v${i} = table[nums[p++]];`);
      else if (kinds[i] === NUM) lines.push(`const v${i} = nums[p++];`);
      else {
        lines.push(`const v${i} = new Array(nums[p++]);`);
        lines.push(`for (let j = 0; j < v${i}.length; j++) v${i}[j] = nums[p++];`);
      }
    }
    lines.push("at.p = p;");
    lines.push(`return { ${keys.map((k, i) => `${JSON.stringify(k)}: v${i}`).join(", ")} };`);
    read = new Function("nums", "table", "at", lines.join("\n")) as CompactReader;
    this.readers.set(id, read);
    return read;
  }

  /** One shard's metrics row (kept, and summed into when another shard has the same key). */
  metric(r: NetworkMetricsRow): void {
    const key = `${r.time}|${r.client_ip}|${r.server_ip}|${r.server_port}|${r.ip_protocol}`;
    const prev = this.metrics.get(key);
    if (!prev) this.metrics.set(key, r);
    else for (const f of METRIC_FIELDS) prev[f] += r[f];
  }

  /**
   * One shard's application-metrics row. Copied unless `owned` (a worker's, already a copy): a
   * row of a shard in this thread is the L7 module's own object, which it may update and emit
   * again (a late correction).
   */
  appMetric(r: AppMetricsRow, owned = false): void {
    // One (second, server, protocol, endpoint) can be served to clients on several shards.
    const key = `${r.time}|${r.server_ip}|${r.server_port}|${r.l7_protocol}|${r.endpoint}`;
    const prev = this.appMetrics.get(key);
    if (!prev) this.appMetrics.set(key, owned ? r : { ...r, latency_buckets: [...r.latency_buckets] });
    else mergeAppMetrics(prev, r);
  }

  /**
   * After every worker has exited: joins the `count` workers' part files, writes the summed
   * metrics (time order) and hands them to the callbacks. Returns the metrics row counts (of the
   * rows summed here).
   *
   * `appMetricParts`: the shards also wrote application_metrics parts (native HTTP/1 rows as
   * JSONL bytes, see dispatch-analyze.ts), joined with the rows summed here into one file.
   * Those rows are not summed across shards, nor sorted by time: a key served on several shards
   * has a row from each, besides the late-second correction rows that repeat a key anyway.
   * Consumers sum application_metrics rows by key (time, server, protocol, endpoint), as the
   * ingest does, so the file means the same; it is only no longer one row per key.
   */
  finish(
    count: number,
    l7On: boolean,
    appMetricParts = false,
  ): { metricRows: number; appMetricRows: number } {
    const { opts } = this;
    const rows = [...this.metrics.values()].sort((a, b) => a.time - b.time);
    if (opts.outDir) {
      joinParts(opts.outDir, "l4_flow_log.jsonl", count);
      const nm = new JsonlWriter(join(opts.outDir, "network_metrics.jsonl"));
      for (const r of rows) nm.write(r);
      nm.close();
      if (l7On) joinParts(opts.outDir, "l7_flow_log.jsonl", count);
    }
    const amRows = [...this.appMetrics.values()].sort((a, b) => a.time - b.time);
    if (opts.outDir && l7On) {
      const name = "application_metrics.jsonl";
      // As one more part, so that the largest part becomes the file by a rename (no copy).
      const am = new JsonlWriter(join(opts.outDir, appMetricParts ? `${name}.part${count}` : name));
      for (const r of amRows) am.write(r);
      am.close();
      if (appMetricParts) joinParts(opts.outDir, name, count + 1);
    }
    if (opts.onAppMetrics) for (const r of amRows) opts.onAppMetrics(r);
    if (opts.onNetworkMetrics) for (const r of rows) opts.onNetworkMetrics(r);
    return { metricRows: rows.length, appMetricRows: amRows.length };
  }
}

/**
 * Joins `name.part0..count-1` into `name` and removes the parts: the largest part becomes `name`
 * (a rename, no copy: with L7 on a shard's l7_flow_log part is hundreds of MB, and copying it cost
 * the reading thread ~0.9 s of CPU on web-1m.pcap), the others are appended to it in shard order.
 */
function joinParts(dir: string, name: string, count: number): void {
  const parts: string[] = [];
  for (let i = 0; i < count; i++) parts.push(join(dir, `${name}.part${i}`));
  const sizes = parts.map((p) => (existsSync(p) ? statSync(p).size : -1));
  let big = 0;
  for (let i = 1; i < count; i++) if (sizes[i]! > sizes[big]!) big = i;
  const out = join(dir, name);
  if (sizes[big]! >= 0) renameSync(parts[big]!, out);
  else closeSync(openSync(out, "w"));
  const fd = openSync(out, "a");
  try {
    for (let i = 0; i < count; i++) {
      if (i === big || sizes[i]! < 0) continue;
      if (sizes[i]! > 0) writeSync(fd, readFileSync(parts[i]!));
      rmSync(parts[i]!, { force: true });
    }
  } finally {
    closeSync(fd);
  }
}

/** Sums one shard's application-metrics row into another's of the same key. */
export function mergeAppMetrics(into: AppMetricsRow, r: AppMetricsRow): void {
  into.requests += r.requests;
  into.errors_client += r.errors_client;
  into.errors_server += r.errors_server;
  into.timeouts += r.timeouts;
  into.duration_sum_us += r.duration_sum_us;
  if (r.duration_max_us > into.duration_max_us) into.duration_max_us = r.duration_max_us;
  const a = into.latency_buckets;
  const b = r.latency_buckets;
  for (let i = 0; i < a.length; i++) a[i] = (a[i] ?? 0) + (b[i] ?? 0);
}
