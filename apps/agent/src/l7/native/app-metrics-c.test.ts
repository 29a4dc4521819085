/**
 * APP_METRICS_C against its specification, the JS AppMetrics: seeded random streams through
 * both, the same bytes in the same order and the same counters after every call. The C is
 * compiled here with a test-only N-API glue (no JS fallback: a build failure fails the test),
 * with -Werror so that a warning in the aggregator fails too.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { threadId } from "node:worker_threads";
import { buildAddon, privateAddonDir } from "@flowplane/core/native-addon";
import { LATENCY_BUCKET_BOUNDS_US } from "@flowplane/query/rows";
import { beforeAll, describe, expect, it } from "vitest";
import { Rng } from "../../testing/rng.ts";
import { AppMetrics, type AppMetricsRow } from "../app-metrics.ts";
import type { L7Row, ResponseStatus } from "../types.ts";
import { APP_METRICS_C } from "./app-metrics-c.ts";
import { ROWS_COMMON_C } from "./rows-common-c.ts";

const GLUE_C = String.raw`
#include <time.h>
#include <stdio.h>

typedef struct {
  fp_am_t *am;
  fp_buf_t out;
} t_h;

static void t_fin(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  t_h *h = data;
  fp_am_free(h->am);
  free(h->out.p);
  free(h);
}

static t_h *t_arg_h(napi_env env, napi_value v) {
  void *p = NULL;
  napi_get_value_external(env, v, &p);
  return p;
}

static int64_t t_i64(napi_env env, napi_value v) {
  int64_t x = 0;
  napi_get_value_int64(env, v, &x);
  return x;
}

static napi_value t_new(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value a[2], r;
  napi_get_cb_info(env, info, &argc, a, NULL, NULL);
  void *ids;
  size_t n;
  napi_get_buffer_info(env, a[0], &ids, &n);
  t_h *h = calloc(1, sizeof(t_h));
  h->am = fp_am_new(ids, n, (int)t_i64(env, a[1]));
  if (h->am == NULL) {
    napi_throw_error(env, NULL, "fp_am_new failed");
    return NULL;
  }
  napi_create_external(env, h, t_fin, NULL, &r);
  return r;
}

/* add(h, end, srv, srvJson, ep, status, hasReq, dur) */
static napi_value t_add(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value a[8];
  napi_get_cb_info(env, info, &argc, a, NULL, NULL);
  t_h *h = t_arg_h(env, a[0]);
  void *sj, *ep;
  size_t sjn, epn;
  napi_get_buffer_info(env, a[3], &sj, &sjn);
  napi_get_buffer_info(env, a[4], &ep, &epn);
  fp_am_add(h->am, &h->out, t_i64(env, a[1]), (uint32_t)t_i64(env, a[2]), sj, sjn, ep, epn, 0, (int)t_i64(env, a[5]),
            (int)t_i64(env, a[6]), t_i64(env, a[7]));
  return NULL;
}

static napi_value t_tick(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value a[2];
  napi_get_cb_info(env, info, &argc, a, NULL, NULL);
  t_h *h = t_arg_h(env, a[0]);
  fp_am_tick(h->am, &h->out, t_i64(env, a[1]));
  return NULL;
}

static napi_value t_flush(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1];
  napi_get_cb_info(env, info, &argc, a, NULL, NULL);
  t_h *h = t_arg_h(env, a[0]);
  fp_am_flush(h->am, &h->out);
  return NULL;
}

/* take(h) -> Buffer: the bytes written since the last take. */
static napi_value t_take(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1], r;
  napi_get_cb_info(env, info, &argc, a, NULL, NULL);
  t_h *h = t_arg_h(env, a[0]);
  if (h->out.failed) {
    napi_throw_error(env, NULL, "output buffer failed");
    return NULL;
  }
  napi_create_buffer_copy(env, h->out.len, h->out.len ? h->out.p : (const void *)"", NULL, &r);
  h->out.len = 0;
  return r;
}

/* counters(h) -> [rows, folded, lateRows] */
static napi_value t_counters(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1], r, v;
  napi_get_cb_info(env, info, &argc, a, NULL, NULL);
  t_h *h = t_arg_h(env, a[0]);
  uint64_t c[3] = {fp_am_rows(h->am), fp_am_folded(h->am), fp_am_late_rows(h->am)};
  napi_create_array_with_length(env, 3, &r);
  for (uint32_t i = 0; i < 3; i++) {
    napi_create_double(env, (double)c[i], &v);
    napi_set_element(env, r, i, v);
  }
  return r;
}

/* bench(n, endpoints) -> [CPU ns per add, rows]: a synthetic HTTP stream made and run in C (8
   servers, up to 2000 endpoints, 20 k rows a second, 1 % late by 2 s, a tick every 1024 rows),
   output drained. */
static napi_value t_bench(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value a[2], r, v;
  napi_get_cb_info(env, info, &argc, a, NULL, NULL);
  int64_t n = t_i64(env, a[0]);
  enum { S = 8, E = 2000 };
  int64_t ne = t_i64(env, a[1]);
  if (ne < 1 || ne > E) ne = E;
  static char sj[S][96], ep[E][64];
  static size_t sjn[S], epn[E];
  for (int i = 0; i < S; i++) sjn[i] = (size_t)snprintf(sj[i], 96, "\"server_ip\":\"10.0.%d.%d\",\"server_port\":%d,\"l7_protocol\":\"http\"", i, i * 7, 8000 + i);
  for (int i = 0; i < E; i++) epn[i] = (size_t)snprintf(ep[i], 64, "/api/v%d/customers/orders/items/%d", i % 3, i);
  const char *ids = "\"org_id\":\"00000000-0000-0000-0000-000000000001\",\"agent_id\":\"00000000-0000-0000-0000-000000000002\"";
  fp_am_t *am = fp_am_new((const uint8_t *)ids, strlen(ids), 10000);
  fp_buf_t out = {0};
  uint64_t x = 88172645463325252ULL;
  int64_t t0 = 1700000000000000LL;
  /* The stream is made first: only the aggregator is timed. */
  typedef struct {
    int64_t end, dur;
    uint16_t s, k;
    uint8_t st;
  } t_row;
  t_row *rs = malloc((size_t)n * sizeof(t_row));
  for (int64_t i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    rs[i].end = t0 + i * 50 - (x % 100 == 0 ? 2000000 : 0);
    rs[i].s = (uint16_t)((x >> 8) % S);
    rs[i].k = (uint16_t)((x >> 16) % (uint64_t)ne);
    rs[i].st = (uint8_t)((x >> 40) % 5);
    rs[i].dur = (int64_t)((x >> 24) % 300000);
  }
  struct timespec b, e;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
  for (int64_t i = 0; i < n; i++) {
    const t_row *r = &rs[i];
    fp_am_add(am, &out, r->end, r->s, (const uint8_t *)sj[r->s], sjn[r->s], (const uint8_t *)ep[r->k], epn[r->k], 0,
              r->st, 1, r->dur);
    if ((i & 1023) == 1023) fp_am_tick(am, &out, r->end);
    if (out.len > (1 << 20)) out.len = 0;
  }
  fp_am_flush(am, &out);
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &e);
  double ns = (double)(e.tv_sec - b.tv_sec) * 1e9 + (double)(e.tv_nsec - b.tv_nsec);
  double rows = (double)fp_am_rows(am);
  fp_am_free(am);
  free(out.p);
  free(rs);
  napi_create_array_with_length(env, 2, &r);
  napi_create_double(env, n > 0 ? ns / (double)n : 0, &v);
  napi_set_element(env, r, 0, v);
  napi_create_double(env, rows, &v);
  napi_set_element(env, r, 1, v);
  return r;
}

NAPI_MODULE_INIT() {
  static const struct { const char *name; napi_callback f; } fns[] = {
    {"create", t_new}, {"add", t_add}, {"tick", t_tick}, {"flush", t_flush},
    {"take", t_take}, {"counters", t_counters}, {"bench", t_bench}};
  for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
    napi_value f;
    napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].f, NULL, &f);
    napi_set_named_property(env, exports, fns[i].name, f);
  }
  return exports;
}
`;

type Handle = { readonly __am: unique symbol };
interface TestAddon {
  create(ids: Buffer, maxKeys: number): Handle;
  add(
    h: Handle,
    end: number,
    srv: number,
    srvJson: Buffer,
    ep: Buffer,
    status: number,
    hasReq: number,
    dur: number,
  ): void;
  tick(h: Handle, now: number): void;
  flush(h: Handle): void;
  take(h: Handle): Buffer;
  counters(h: Handle): [number, number, number];
  bench(n: number, endpoints: number): [number, number];
}

/** Builds the glue + aggregator in the private build directory; throws with the reason. */
function loadAddon(): TestAddon {
  const source = ROWS_COMMON_C + APP_METRICS_C + GLUE_C;
  const dir = privateAddonDir();
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const hash = createHash("sha256").update(source).digest("hex").slice(0, 16);
  const file = join(dir, `app-metrics-test-${hash}.c`);
  if (!existsSync(file)) {
    const tmp = `${file}.${process.pid}.${threadId}.tmp`;
    writeFileSync(tmp, source, { mode: 0o600 });
    renameSync(tmp, file);
  }
  const addon = buildAddon<TestAddon>({
    name: "app-metrics-test",
    source: pathToFileURL(file),
    // The helpers of ROWS_COMMON_C this glue does not call are fine; any other warning is not.
    linkFlags: ["-Wall", "-Wextra", "-Werror", "-Wno-unused-function"],
  });
  if (typeof addon === "string") throw new Error(`app metrics C did not build: ${addon}`);
  return addon;
}

const STATUSES: ResponseStatus[] = ["ok", "client_error", "server_error", "timeout", "unknown"];

/** Uniform numbers in [0, 1) from a seed. */
function mulberry32(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.u32() / 4294967296;
}

interface Server {
  srv: number;
  ip: string;
  port: number;
  proto: string;
  json: Buffer;
}

function server(srv: number, ip: string, port: number, proto: string): Server {
  const json = Buffer.from(
    `"server_ip":${JSON.stringify(ip)},"server_port":${port},"l7_protocol":${JSON.stringify(proto)}`,
  );
  return { srv, ip, port, proto, json };
}

/** An endpoint of latin1 code units: plain paths and the bytes JSON must escape or encode. */
function endpoint(rnd: () => number): string {
  const kind = rnd();
  if (kind < 0.1) return "";
  if (kind < 0.5) return `/api/v${Math.floor(rnd() * 3)}/items/${Math.floor(rnd() * 40)}`;
  const special = [
    '"',
    "\\",
    "\b",
    "\f",
    "\n",
    "\r",
    "\t",
    "\x00",
    "\x01",
    "\x1f",
    "\x7f",
    "\x80",
    "\xa0",
    "\xe9",
    "\xff",
  ];
  let s = "/";
  const n = Math.floor(rnd() * 40);
  for (let i = 0; i < n; i++) {
    const r = rnd();
    if (r < 0.3) s += special[Math.floor(rnd() * special.length)];
    else if (r < 0.4) s += String.fromCharCode(Math.floor(rnd() * 256));
    else s += String.fromCharCode(97 + Math.floor(rnd() * 26));
  }
  return s;
}

const DURATIONS = [
  0,
  -5,
  1,
  ...LATENCY_BUCKET_BOUNDS_US.flatMap((b) => [b - 1, b, b + 1]),
  30_000_000,
  2 ** 40,
];

function duration(rnd: () => number): number {
  return rnd() < 0.5
    ? DURATIONS[Math.floor(rnd() * DURATIONS.length)]!
    : Math.floor(rnd() * 12_000_000 * (rnd() < 0.8 ? 0.01 : 1));
}

const ORG = "0b0e4a5c-0000-4000-8000-00000000000a";
const AGENT = "a9e0f1d2-0000-4000-8000-00000000000b";
const IDS = Buffer.from(`"org_id":${JSON.stringify(ORG)},"agent_id":${JSON.stringify(AGENT)}`);

/** The first line where two JSONL byte strings differ, for a readable failure. */
function firstDiff(a: Buffer, b: Buffer): string {
  const la = a.toString("latin1").split("\n");
  const lb = b.toString("latin1").split("\n");
  for (let i = 0; i < Math.max(la.length, lb.length); i++) {
    if (la[i] !== lb[i]) return `line ${i}:\n  js ${la[i]}\n  c  ${lb[i]}`;
  }
  return "";
}

interface Stream {
  seed: number;
  ops: number;
  maxKeys: number;
  /** First end time; a base near 0 lets late rows reach negative seconds. */
  base: number;
  endpoints: number;
}

/** Runs one stream through both; returns how many rows came out. */
function runStream(addon: TestAddon, st: Stream): number {
  const rnd = mulberry32(st.seed);
  const servers = [
    server(0, "10.0.0.1", 80, "http"),
    server(7, "fe80::1", 8080, "http"),
    server(100, "192.168.1.20", 443, "http"),
    server(4_000_000_000, "10.9.9.9", 65535, "http2"),
    server(42, "127.0.0.1", 1, "http"),
  ];
  const eps = Array.from({ length: st.endpoints }, () => endpoint(rnd));
  const epBytes = eps.map((e) => Buffer.from(e, "latin1"));
  const jsOut: string[] = [];
  const js = new AppMetrics(
    ORG,
    AGENT,
    (r: AppMetricsRow) => jsOut.push(`${JSON.stringify(r)}\n`),
    st.maxKeys,
  );
  const h = addon.create(IDS, st.maxKeys);
  const cOut: Buffer[] = [];
  let t = st.base;
  const check = (i: number) => {
    const [rows, folded, lateRows] = addon.counters(h);
    if (rows !== jsOut.length || folded !== js.folded || lateRows !== js.lateRows) {
      cOut.push(addon.take(h));
      const diff = firstDiff(Buffer.from(jsOut.join("")), Buffer.concat(cOut));
      throw new Error(
        `seed ${st.seed} op ${i}: c rows/folded/late ${rows}/${folded}/${lateRows}, ` +
          `js ${jsOut.length}/${js.folded}/${js.lateRows}\n${diff}`,
      );
    }
  };
  for (let i = 0; i < st.ops; i++) {
    const r = rnd();
    if (r < 0.03) {
      // Anywhere around the clock, or on a second's boundary (or just before it).
      const now =
        rnd() < 0.5
          ? t + Math.floor((rnd() * 3 - 1) * 1e6)
          : (Math.floor(t / 1e6) + Math.floor(rnd() * 3)) * 1e6 - (rnd() < 0.5 ? 1 : 0);
      js.tick(now);
      addon.tick(h, now);
    } else if (r < 0.035) {
      js.flush();
      addon.flush(h);
    } else {
      // Mostly forward in small steps, sometimes a jump, sometimes a row of an earlier second
      // (a late correction), sometimes exactly on a second boundary.
      const m = rnd();
      let end: number;
      if (m < 0.8) end = t += Math.floor(rnd() * 60_000);
      else if (m < 0.85) end = t += Math.floor(rnd() * 4e6);
      else if (m < 0.95) end = t - Math.floor(rnd() * 5e6);
      else {
        end = (Math.floor(t / 1e6) + Math.floor(rnd() * 3) - 1) * 1e6 - (rnd() < 0.5 ? 1 : 0);
      }
      const s = servers[Math.floor(rnd() * servers.length)]!;
      const k = Math.floor(rnd() * eps.length);
      const status = Math.floor(rnd() * 5);
      const hasReq = rnd() < 0.7;
      const how = Math.floor(rnd() * 3);
      const dur = duration(rnd);
      const row = {
        end_time: end,
        server_ip: s.ip,
        server_port: s.port,
        l7_protocol: s.proto,
        endpoint: eps[k]!,
        request_type: hasReq && how === 0 ? "GET" : "",
        request_resource: hasReq && how === 1 ? "/x" : "",
        request_length: hasReq && how === 2 ? 12 : 0,
        response_status: STATUSES[status]!,
        response_duration_us: dur,
      } as L7Row;
      js.add(row, s.srv);
      addon.add(h, end, s.srv, s.json, epBytes[k]!, status, hasReq ? 1 : 0, dur);
    }
    check(i);
    if (i % 256 === 0) cOut.push(addon.take(h));
  }
  js.flush();
  addon.flush(h);
  check(st.ops);
  cOut.push(addon.take(h));
  const want = Buffer.from(jsOut.join(""));
  const got = Buffer.concat(cOut);
  if (!want.equals(got)) throw new Error(`seed ${st.seed}: output differs at ${firstDiff(want, got)}`);
  return jsOut.length;
}

describe("APP_METRICS_C (native per-second application metrics)", () => {
  let addon: TestAddon;
  beforeAll(() => {
    addon = loadAddon();
  });

  it("makes the same rows, in the same order, with the same counters as AppMetrics", () => {
    const maxKeys = [0, 1, 3, 10, 50, 10_000];
    let rows = 0;
    for (let seed = 1; seed <= 36; seed++) {
      rows += runStream(addon, {
        seed,
        ops: 4000,
        maxKeys: maxKeys[seed % maxKeys.length]!,
        base: seed % 6 === 5 ? 1_500_000 : 1_700_000_000_000_000 + seed * 987_654_321,
        endpoints: seed % 3 === 0 ? 400 : 40,
      });
    }
    expect(rows).toBeGreaterThan(10_000);
  });

  it("keeps its tables across many seconds of growth and shrink", () => {
    // Busy seconds then quiet ones, past the trim window (64 flushes), then busy again.
    const rnd = mulberry32(99);
    const s = server(3, "10.1.1.1", 80, "http");
    const jsOut: string[] = [];
    const js = new AppMetrics(ORG, AGENT, (r: AppMetricsRow) => jsOut.push(`${JSON.stringify(r)}\n`), 5000);
    const h = addon.create(IDS, 5000);
    const cOut: Buffer[] = [];
    let t = 1_700_000_000_000_000;
    for (const [secs, perSec, eps] of [
      [3, 8000, 6000],
      [150, 3, 3],
      [3, 8000, 6000],
    ] as const) {
      for (let sec = 0; sec < secs; sec++) {
        for (let i = 0; i < perSec; i++) {
          const ep = `/p/${Math.floor(rnd() * eps)}`;
          const end = t + Math.floor((i * 1e6) / perSec);
          js.add(
            {
              end_time: end,
              endpoint: ep,
              request_type: "GET",
              request_resource: "",
              request_length: 0,
              response_status: "ok",
              response_duration_us: 700,
              server_ip: s.ip,
              server_port: s.port,
              l7_protocol: s.proto,
            } as L7Row,
            s.srv,
          );
          addon.add(h, end, s.srv, s.json, Buffer.from(ep, "latin1"), 0, 1, 700);
        }
        t += 1e6;
        js.tick(t);
        addon.tick(h, t);
        cOut.push(addon.take(h));
      }
    }
    js.flush();
    addon.flush(h);
    cOut.push(addon.take(h));
    const want = Buffer.from(jsOut.join(""));
    const got = Buffer.concat(cOut);
    expect(got.equals(want), firstDiff(want, got)).toBe(true);
    expect(addon.counters(h)).toEqual([jsOut.length, js.folded, js.lateRows]);
  });

  it("measures the CPU cost of an add (printed, not asserted)", () => {
    // Many keys a second (most adds make a row: formatting dominates), then few.
    for (const endpoints of [2000, 20]) {
      const [ns, rows] = addon.bench(1_000_000, endpoints);
      console.log(
        `app metrics C: ${ns.toFixed(1)} ns CPU per add over 1 M adds, 8 servers x ${endpoints} endpoints (${rows} rows out)`,
      );
      expect(rows).toBeGreaterThan(0);
    }
  });
});
