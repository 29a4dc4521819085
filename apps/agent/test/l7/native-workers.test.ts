/**
 * The native HTTP/1 row path in the multi-worker (dispatch) analysis: every shard's processor
 * writes its HTTP/1 rows as JSONL bytes to the shard's part files, application metrics included
 * (an application_metrics part per shard, joined with the rows the parent summed). Compared with
 * the JS reference (one thread, FLOWPLANE_L7_NATIVE=0): l7_flow_log, l4_flow_log and
 * network_metrics as sorted lines with flow ids masked (a flow's id carries its shard), and
 * application_metrics summed per key, since a key served on several shards now has a row from
 * each (consumers sum rows by key, as the ingest does), so its row count may be larger. And the
 * reading thread's share of the work (`ownShare`) when HTTP/1 flows weigh less on the native path.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { sharedPcapsDir } from "@flowplane/core/shared-dir";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { type AnalyzeOptions, type AnalyzeResult, analyzeFile, analyzeFileSync } from "../../src/analyze.ts";
import { analyzeFileDispatched, ownShare, sampleHead } from "../../src/flow/dispatch-analyze.ts";
import { NIL_UUID } from "../../src/flow/flow-engine.ts";
import { createL7Processor } from "../../src/l7/index.ts";
import { pcapFile } from "../../src/testing/pcap-header.ts";
import * as F from "../helpers/frames.ts";
import { metricsByKey } from "./metrics-by-key.ts";

const tmp = mkdtempSync(join(tmpdir(), "fp-native-workers-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const envBefore = process.env.FLOWPLANE_L7_NATIVE;
afterEach(() => {
  if (envBefore === undefined) delete process.env.FLOWPLANE_L7_NATIVE;
  else process.env.FLOWPLANE_L7_NATIVE = envBefore;
});

// The options of analyze-command.ts, with a fixed start second (flow ids' high bits).
const OPTS: AnalyzeOptions = {
  vxlanPort: 4789,
  orgId: NIL_UUID,
  agentId: NIL_UUID,
  maxFlows: 1_000_000,
  l7: {},
  startSeconds: 1_795_700_000,
};

let n = 0;
const outDir = () => join(tmp, `${n++}`);

interface Files {
  result: AnalyzeResult;
  l4: string[];
  nm: string[];
  l7: string[];
  am: string[];
}

function read(dir: string, name: string): string[] {
  const t = readFileSync(join(dir, `${name}.jsonl`), "utf8");
  expect(t === "" || t.endsWith("\n"), name).toBe(true);
  return t === "" ? [] : t.slice(0, -1).split("\n");
}

function files(result: AnalyzeResult, dir: string): Files {
  const f = {
    result,
    l4: read(dir, "l4_flow_log"),
    nm: read(dir, "network_metrics"),
    l7: read(dir, "l7_flow_log"),
    am: read(dir, "application_metrics"),
  };
  // The counts are the files' lines (native rows counted through rawRows' `rows`).
  expect(f.l4).toHaveLength(result.l4Rows);
  expect(f.nm).toHaveLength(result.metricRows);
  expect(f.l7).toHaveLength(result.l7Rows);
  expect(f.am).toHaveLength(result.appMetricRows);
  // Every L7 row's flow is one of the L4 rows' (ids of the right shard).
  const ids = new Set(f.l4.map(flowId));
  for (const line of f.l7) expect(ids.has(flowId(line)), line).toBe(true);
  return f;
}

const FLOW_ID = /"flow_id":("[^"]*"|\d+)/;
const flowId = (line: string): string => FLOW_ID.exec(line)?.[1] ?? "";
const masked = (lines: string[]): string[] => lines.map((l) => l.replace(FLOW_ID, '"flow_id":""')).sort();

/** The JS reference: one thread, every row made in JS. */
function reference(file: string): Files {
  process.env.FLOWPLANE_L7_NATIVE = "0";
  const dir = outDir();
  const r = analyzeFileSync(file, { ...OPTS, outDir: dir, createL7: createL7Processor });
  expect(r.l7RowPath).toBe("off (FLOWPLANE_L7_NATIVE=0)");
  return files(r, dir);
}

/** Whether this machine runs the native path at all (one thread, the analyze.ts path). */
let nativeAvailable: boolean | undefined;
function nativeRuns(): boolean {
  if (nativeAvailable === undefined) {
    process.env.FLOWPLANE_L7_NATIVE = "1";
    const r = analyzeFileSync(join(sharedPcapsDir(), "http1-get.pcap"), {
      ...OPTS,
      outDir: outDir(),
      createL7: createL7Processor,
    });
    nativeAvailable = r.l7RowPath === "native";
  }
  return nativeAvailable;
}

async function workers(
  file: string,
  native: "0" | "1",
  count = 2,
  tuning?: Parameters<typeof analyzeFileDispatched>[2],
): Promise<Files> {
  // Read when a processor is created (workers copy this thread's environment when started).
  process.env.FLOWPLANE_L7_NATIVE = native;
  const dir = outDir();
  // The dispatch plan, asked for: without it, 2 cores get one worker and the row thread.
  const o = { ...OPTS, outDir: dir, workers: count, multi: "dispatch" as const };
  const r = tuning ? await analyzeFileDispatched(file, o, tuning) : await analyzeFile(file, o);
  expect(r.workers).toBe(count);
  return files(r, dir);
}

function expectSame(got: Files, want: Files): void {
  expect(got.result.stats.packets).toBe(want.result.stats.packets);
  expect(got.result.l4Rows).toBe(want.result.l4Rows);
  expect(got.result.metricRows).toBe(want.result.metricRows);
  expect(got.result.l7Rows).toBe(want.result.l7Rows);
  // Rows of a key are not summed across shards any more: as many or more rows.
  expect(got.result.appMetricRows).toBeGreaterThanOrEqual(metricsByKey(want.am).length);
  expect(masked(got.l4)).toEqual(masked(want.l4));
  expect([...got.nm].sort()).toEqual([...want.nm].sort());
  expect(masked(got.l7)).toEqual(masked(want.l7));
  expect(metricsByKey(got.am)).toEqual(metricsByKey(want.am));
}

/**
 * An HTTP/1 capture of `flows` keep-alive connections (1-4 requests each, a few endpoints on
 * three servers, 200/404/500) over ~`flows / 50` s, every 10th flow Redis instead: flows in every
 * shard, and the same (second, server, endpoint) served on several, JS rows among native ones.
 */
function generatedCapture(flows: number): string {
  const frames: [number, number, Uint8Array][] = [];
  const t0 = 1_700_000_000_000_000;
  const paths = ["/api/users", "/api/items", "/api/orders", "/health"];
  for (let i = 0; i < flows; i++) {
    const c = `10.${1 + ((i >> 8) & 127)}.${i & 255}.7`;
    const redis = i % 10 === 9;
    const s = redis ? "10.200.1.1" : `10.200.0.${1 + (i % 3)}`;
    const sport = 20000 + (i % 40000);
    const dport = redis ? 6379 : i % 2 === 0 ? 80 : 8080;
    let t = t0 + i * 20_000;
    let cs = 1000 + i;
    let ss = 900_000 + i;
    const add = (fromClient: boolean, payload: string, flags: number) => {
      const b = Buffer.from(payload, "latin1");
      const seg = fromClient
        ? F.tcp(sport, dport, b, { seq: cs, ack: ss, flags })
        : F.tcp(dport, sport, b, { seq: ss, ack: cs, flags });
      frames.push([
        t,
        frames.length,
        F.eth(0x0800, fromClient ? F.ipv4(6, c, s, seg) : F.ipv4(6, s, c, seg)),
      ]);
      const len = b.length + (flags & 0x03 ? 1 : 0);
      if (fromClient) cs += len;
      else ss += len;
    };
    add(true, "", 0x02);
    t += 100;
    add(false, "", 0x12);
    t += 100;
    add(true, "", 0x10);
    for (let j = 0; j < 1 + (i % 4); j++) {
      t += 300 + ((i * 7919 + j * 104729) % 400_000);
      if (redis) add(true, "*1\r\n$4\r\nPING\r\n", 0x18);
      else add(true, `GET ${paths[(i + j) % 4]}?id=${i} HTTP/1.1\r\nHost: svc\r\n\r\n`, 0x18);
      t += 200 + ((i * 31 + j * 17) % 20_000);
      if (redis) add(false, "+PONG\r\n", 0x18);
      else {
        const code = [200, 200, 404, 500, 200][(i + j) % 5]!;
        const body = `{"i":${i},"j":${j}}`;
        add(false, `HTTP/1.1 ${code} X\r\nContent-Length: ${body.length}\r\n\r\n${body}`, 0x18);
      }
    }
    t += 1000;
    add(true, "", 0x11);
    t += 100;
    add(false, "", 0x11);
  }
  frames.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const path = join(tmp, `generated-${flows}.pcap`);
  writeFileSync(path, pcapFile(frames.map(([ts, , b]) => [ts, b] as const)));
  return path;
}

const SHARED = [
  "http1-get.pcap",
  "http1-pipelined.pcap",
  "http1-post-json.pcap",
  "vxlan-http.pcap",
  "erspan-vlan-http-tls.pcap",
  "vlan-http.pcap",
  "vlan-http-retransmissions.pcap",
  "qinq-http.pcap",
  "gre-teb-http.pcap",
  "gre-erspan-vxlan-mixed.pcap",
  "h2c-multi-stream.pcap",
];

describe("native HTTP/1 rows with 2 workers = JS rows of one thread", () => {
  for (const name of SHARED) {
    it(name, async () => {
      const file = join(sharedPcapsDir(), name);
      const want = reference(file);
      const got = await workers(file, "1");
      if (nativeRuns()) expect(got.result.l7RowPath).toBe("native");
      expectSame(got, want);
    });
  }

  it("a generated capture of 3000 flows (HTTP/1 and Redis), 2 and 3 workers", async () => {
    const file = generatedCapture(3000);
    const want = reference(file);
    expect(want.result.l7Rows).toBeGreaterThan(6000);
    expect(want.l7.some((l) => l.includes('"l7_protocol":"redis"'))).toBe(true);
    for (const [count, tuning] of [
      [2, undefined],
      [2, { ownShare: 0.5, countBuckets: true }],
      [3, { ownShare: 0.3 }],
    ] as const) {
      const got = await workers(file, "1", count, tuning);
      if (nativeRuns()) {
        expect(got.result.l7RowPath).toBe("native");
        // Shards' rows of one key are not summed: more rows than keys.
        expect(got.am.length).toBeGreaterThan(metricsByKey(got.am).length);
      }
      expectSame(got, want);
    }
  });

  it("2 workers asked for without a plan: one worker on 2 cores or fewer, the same rows", async () => {
    const file = generatedCapture(400);
    const want = reference(file);
    process.env.FLOWPLANE_L7_NATIVE = "1";
    const dir = outDir();
    const r = await analyzeFile(file, { ...OPTS, outDir: dir, workers: 2 });
    if (nativeRuns() && availableParallelism() <= 2) {
      expect(r.workers).toBe(1);
      expect(r.workersRequested).toBe(2);
      expect(r.plan).toMatch(/native L7 row thread/);
    } else {
      expect(r.workers).toBe(2);
      expect(r.plan).toBeUndefined();
    }
    expectSame(files(r, dir), want);
  });

  it("FLOWPLANE_L7_NATIVE=0: the JS rows, and l7RowPath says why", async () => {
    const file = generatedCapture(400);
    const want = reference(file);
    const got = await workers(file, "0");
    expect(got.result.l7RowPath).toBe("off (FLOWPLANE_L7_NATIVE=0)");
    expectSame(got, want);
  });

  it("a caller taking row objects gets them, one application_metrics row per key", async () => {
    process.env.FLOWPLANE_L7_NATIVE = "1";
    const file = generatedCapture(400);
    const want = reference(file);
    process.env.FLOWPLANE_L7_NATIVE = "1";
    const dir = outDir();
    const l7: unknown[] = [];
    const r = await analyzeFile(file, { ...OPTS, outDir: dir, workers: 2, onL7: (x) => l7.push(x) });
    expect(r.l7RowPath).toBe("off (no raw row sink)");
    const got = files(r, dir);
    expect(l7).toHaveLength(got.result.l7Rows);
    expect(got.am).toHaveLength(metricsByKey(got.am).length);
    expectSame(got, want);
  });
});

describe("the reading thread's share with native rows", () => {
  const sum = (a: Float64Array) => a.reduce((x, y) => x + y, 0);

  it("weighs HTTP/1 flows' payload packets less, other flows' alike", () => {
    const http = sampleHead(join(sharedPcapsDir(), "http1-pipelined.pcap"))!;
    expect(sum(http.nativeWeights)).toBeGreaterThan(0);
    expect(sum(http.nativeWeights)).toBeLessThan(sum(http.weights));
    const redis = sampleHead(join(sharedPcapsDir(), "redis-commands.pcap"))!;
    expect(sum(redis.weights)).toBeGreaterThan(0);
    expect([...redis.nativeWeights]).toEqual([...redis.weights]);
  });

  it("is smaller the lighter the engine's work", () => {
    expect(ownShare(2, true, 4000, 1)).toBeGreaterThan(0.15);
    expect(ownShare(2, true, 4000, 1.5)).toBeLessThan(0.1);
    expect(ownShare(2, true, 4000, 1.5)).toBeGreaterThanOrEqual(0);
    expect(ownShare(2, false, 4000, 1.5)).toBe(0);
  });
});
