/**
 * The native row path (HTTP/1, Redis, PostgreSQL and DNS-over-UDP flows parsed, paired and formatted as JSONL in C,
 * the bytes written by JsonlWriter.writeRaw or the row thread) writes what the JS path writes: every capture of the shared
 * corpus and of ./captures is analyzed as the CLI's `analyze` does (one thread, L7 on, output
 * files) with FLOWPLANE_L7_NATIVE=0 and =1, and the files are compared. l7_flow_log is compared
 * as a sorted multiset of lines (the native path may write its rows in another order, never
 * other bytes); application_metrics summed per key (a key's row may be split into correction
 * rows differently); l4_flow_log and network_metrics line by line. Flow ids are compared too:
 * the engine's ids are deterministic with a fixed startSeconds (the CLI's default is the
 * clock's second, which would differ between two runs across a second boundary).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sharedPcapsDir } from "@flowplane/core/shared-dir";
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type AnalyzeResult, analyzeFileSync } from "../../src/analyze.ts";
import { NIL_UUID } from "../../src/flow/flow-engine.ts";
import { createL7Processor, type L7Processor } from "../../src/l7/index.ts";
import { JsonlWriter } from "../../src/output/jsonl-writer.ts";
import type { RawRowsSink } from "../../src/output/raw-rows.ts";
import { metricsByKey } from "./metrics-by-key.ts";

const CAPTURE = /\.pcap(ng)?$/;
const dirs = [sharedPcapsDir(), join(import.meta.dirname, "captures")];
const files = dirs.flatMap((d) =>
  readdirSync(d)
    .filter((f) => CAPTURE.test(f))
    .sort()
    .map((f) => join(d, f)),
);
const tmp = mkdtempSync(join(tmpdir(), "fp-native-eq-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const envBefore = process.env.FLOWPLANE_L7_NATIVE;
afterEach(() => {
  if (envBefore === undefined) delete process.env.FLOWPLANE_L7_NATIVE;
  else process.env.FLOWPLANE_L7_NATIVE = envBefore;
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

interface Run {
  result: AnalyzeResult;
  dir: string;
  /** The processor's stats. */
  l7Stats: Record<string, unknown>;
  /** What the processor says about its native path ("native" when HTTP/1 flows ran in C). */
  nativeKind: string;
  /** Rows and bytes that reached the files through writeRaw. */
  rawRows: number;
  rawBytes: number;
}

let n = 0;
function run(file: string, native: "0" | "1"): Run {
  // Read when a processor is created.
  process.env.FLOWPLANE_L7_NATIVE = native;
  const dir = join(tmp, `${n++}-${native}`);
  const procs: L7Processor[] = [];
  let rawRows = 0;
  let rawBytes = 0;
  const raw = JsonlWriter.prototype.writeRaw;
  const spy = vi.spyOn(JsonlWriter.prototype, "writeRaw").mockImplementation(function (
    this: JsonlWriter,
    b,
    off,
    len,
    rows,
  ) {
    rawRows += rows ?? 0;
    rawBytes += len;
    raw.call(this, b, off, len, rows);
  });
  // The options of analyze-command.ts (workers 1: the native path is the single-thread one).
  const result = analyzeFileSync(file, {
    outDir: dir,
    vxlanPort: 4789,
    orgId: NIL_UUID,
    agentId: NIL_UUID,
    maxFlows: 1_000_000,
    l7: {},
    startSeconds: 1_795_700_000,
    createL7: (o) => {
      const p = createL7Processor(o);
      procs.push(p);
      return p;
    },
  });
  spy.mockRestore();
  expect(procs).toHaveLength(1);
  const p = procs[0]!;
  const stats = p.stats() as unknown as Record<string, unknown>;
  return { result, dir, l7Stats: stats, nativeKind: p.nativeKind, rawRows, rawBytes };
}

function lines(dir: string, name: string): string[] {
  const t = readFileSync(join(dir, name), "utf8");
  expect(t === "" || t.endsWith("\n")).toBe(true);
  return t === "" ? [] : t.slice(0, -1).split("\n");
}

const sorted = (a: string[]): string[] => [...a].sort();

/** Captures whose rows went through writeRaw, over all files. */
const wentNative: string[] = [];
/** Runs with FLOWPLANE_L7_NATIVE=1 whose processor said anything about its native path. */
let reportedActive = 0;

describe("native HTTP/1 rows = JS rows, analyze's files on every capture", () => {
  it("finds the captures", () => {
    expect(files.length).toBeGreaterThanOrEqual(40);
  });

  for (const file of files) {
    it(file.slice(file.lastIndexOf("/") + 1), () => {
      const js = run(file, "0");
      const nat = run(file, "1");
      // FLOWPLANE_L7_NATIVE=0 keeps every row on the JS path.
      expect(js.rawRows).toBe(0);
      expect(js.rawBytes).toBe(0);
      if (nat.nativeKind === "native") reportedActive++;
      if (nat.rawRows > 0) wentNative.push(file);
      // A processor that says its native path is off (addon unavailable) writes no raw rows.
      if (nat.nativeKind !== "native") expect(nat.rawRows).toBe(0);

      const r0 = js.result;
      const r1 = nat.result;
      expect(r1.stats).toEqual(r0.stats);
      expect(r1.l4Rows).toBe(r0.l4Rows);
      expect(r1.metricRows).toBe(r0.metricRows);
      expect(r1.l7Rows).toBe(r0.l7Rows);
      // A key served by both aggregators (DNS over UDP in C, DNS over TCP in JS, to one server)
      // has a row in each (docs/decisions.md): never fewer rows, the same sums per key (below).
      expect(r1.appMetricRows).toBeGreaterThanOrEqual(r0.appMetricRows);
      expect(nat.l7Stats).toEqual(js.l7Stats);

      for (const [r, x] of [
        [r0, js],
        [r1, nat],
      ] as const) {
        // The counts (through rawRows' `rows` too) are the files' lines.
        expect(lines(x.dir, "l4_flow_log.jsonl")).toHaveLength(r.l4Rows);
        expect(lines(x.dir, "network_metrics.jsonl")).toHaveLength(r.metricRows);
        expect(lines(x.dir, "l7_flow_log.jsonl")).toHaveLength(r.l7Rows);
        expect(lines(x.dir, "application_metrics.jsonl")).toHaveLength(r.appMetricRows);
      }
      // The L7 protocol in l4_flow_log comes from the processor for native flows too.
      expect(lines(nat.dir, "l4_flow_log.jsonl")).toEqual(lines(js.dir, "l4_flow_log.jsonl"));
      expect(lines(nat.dir, "network_metrics.jsonl")).toEqual(lines(js.dir, "network_metrics.jsonl"));
      expect(sorted(lines(nat.dir, "l7_flow_log.jsonl"))).toEqual(sorted(lines(js.dir, "l7_flow_log.jsonl")));
      expect(metricsByKey(lines(nat.dir, "application_metrics.jsonl"))).toEqual(
        metricsByKey(lines(js.dir, "application_metrics.jsonl")),
      );
    });
  }

  // The row thread's files written with O_DIRECT from the start (FLOWPLANE_L7_DIRECT=1), the JS
  // rows of other protocols appended to l7_flow_log through it: the same lines as through the
  // page cache (=0).
  for (const name of ["erspan-vlan-http-tls.pcap", "http1-pipelined.pcap", "dns-edns-ecs-ipv4-ipv6.pcap"]) {
    it(`${name}: the same files with the row thread writing O_DIRECT`, () => {
      const file = join(sharedPcapsDir(), name);
      vi.stubEnv("FLOWPLANE_L7_DIRECT", "0");
      const page = run(file, "1");
      expect(page.result.l7DirectOutput, "FLOWPLANE_L7_DIRECT=0: the page cache").toBeFalsy();
      vi.stubEnv("FLOWPLANE_L7_DIRECT", "1");
      const direct = run(file, "1");
      expect(direct.result.l7Rows).toBeGreaterThan(0);
      expect(direct.result.l7Rows).toBe(page.result.l7Rows);
      for (const f of ["l7_flow_log", "application_metrics", "l4_flow_log", "network_metrics"]) {
        expect(sorted(lines(direct.dir, `${f}.jsonl`)), f).toEqual(sorted(lines(page.dir, `${f}.jsonl`)));
      }
    });
  }

  it("when the processor reports its native path, HTTP/1 rows went through it", () => {
    if (reportedActive > 0) {
      expect(wentNative.length, `${reportedActive} runs reported native`).toBeGreaterThan(0);
      expect(wentNative.some((f) => f.endsWith("/http1-get.pcap"))).toBe(true);
    } else expect(wentNative).toEqual([]);
  });
});

describe("analyze's rawRows (the native path emulated: JS rows sent as JSONL bytes)", () => {
  // The emulation and its reference are JS processors: the real native path stays off here
  // (the file's afterEach restores the variable).
  beforeEach(() => {
    process.env.FLOWPLANE_L7_NATIVE = "0";
  });
  /** A processor that sends its HTTP rows through rawRows, like the native path will. */
  function emulating(seen: { raw: RawRowsSink | undefined }) {
    return (o: Parameters<typeof createL7Processor>[0]) => {
      const { rawRows, ...rest } = o as typeof o & { rawRows?: RawRowsSink };
      seen.raw = rawRows;
      if (!rawRows) return createL7Processor(rest);
      // One reused array, larger than the lines, overwritten after each call.
      const buf = Buffer.alloc(1 << 16);
      const send = (to: "l7" | "appMetrics", r: object) => {
        const len = buf.write(`${JSON.stringify(r)}\n`, 0, "utf8");
        rawRows[to](buf, len, 1);
        buf.fill(0x7b, 0, len);
      };
      return createL7Processor({
        ...rest,
        onL7: (r) => (r.l7_protocol === "http" ? send("l7", r) : rest.onL7?.(r)),
        onAppMetrics: (r) => (r.l7_protocol === "http" ? send("appMetrics", r) : rest.onAppMetrics?.(r)),
      });
    };
  }

  for (const name of ["http1-pipelined.pcap", "vxlan-http.pcap", "erspan-vlan-http-tls.pcap"]) {
    it(`${name}: the same files and counts as row objects`, () => {
      const file = join(sharedPcapsDir(), name);
      const opts = { l7: {}, maxFlows: 1_000_000, startSeconds: 1_795_700_000 };
      const a = join(tmp, `emu-${name}-js`);
      const b = join(tmp, `emu-${name}-raw`);
      const r0 = analyzeFileSync(file, { ...opts, outDir: a, createL7: createL7Processor });
      const seen: { raw: RawRowsSink | undefined } = { raw: undefined };
      const r1 = analyzeFileSync(file, { ...opts, outDir: b, createL7: emulating(seen) });
      expect(seen.raw).toBeDefined();
      expect(r0.l7Rows).toBeGreaterThan(0);
      // l7RowPath says why each ran in JS (the emulation hides the sink from the processor).
      expect({ ...r1, elapsedMs: 0, packetsPerSecond: 0, l7RowPath: "" }).toEqual({
        ...r0,
        elapsedMs: 0,
        packetsPerSecond: 0,
        l7RowPath: "",
      });
      for (const f of ["l7_flow_log", "application_metrics", "l4_flow_log", "network_metrics"]) {
        expect(readFileSync(join(b, `${f}.jsonl`), "utf8"), f).toBe(
          readFileSync(join(a, `${f}.jsonl`), "utf8"),
        );
      }
    });
  }

  it("is not given when the caller takes the rows or there are no files", () => {
    const file = join(sharedPcapsDir(), "http1-get.pcap");
    const seen: { raw: RawRowsSink | undefined } = { raw: undefined };
    const rows: unknown[] = [];
    const outDir = join(tmp, "emu-callers");
    for (const extra of [
      { outDir, onL7: (r: unknown) => rows.push(r) },
      { outDir, onAppMetrics: () => {} },
      {},
    ]) {
      seen.raw = { l7() {}, appMetrics() {} };
      analyzeFileSync(file, { l7: {}, createL7: emulating(seen), ...extra });
      expect(seen.raw).toBeUndefined();
    }
    expect(rows.length).toBeGreaterThan(0);
  });
});
