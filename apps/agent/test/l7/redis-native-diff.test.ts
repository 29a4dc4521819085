/**
 * Differential fuzz of Redis: the native row path (redis-rows-c.ts, rows as JSONL bytes through
 * `rawRows`) against the JS path (protocols/redis.ts and the processor) on the same seeded TCP
 * streams: pipelined RESP commands and inline ones, names and keys with every byte value, keys
 * and values over 256 bytes, replies of every RESP2/RESP3 type (nested, null, attributes,
 * pushes without a request, errors with long messages), aggregates too deep, garbage, messages
 * cut anywhere across segments, lost, repeated, reordered and snaplen-cut segments, flows whose
 * first payload is the server's, unanswered requests timing out, a full pending queue, flows
 * ended early and by flush. The l7_flow_log bytes must be equal in the same order,
 * application_metrics too, and every stat.
 */
import { describe, expect, it } from "vitest";
import type { L7ProcessorOptions } from "../../src/l7/index.ts";
import type { FlowMeta } from "../../src/l7/types.ts";
import type { Rng } from "./http1-traffic-gen.ts";
import {
  cutStream,
  type DiffOut,
  diffRun,
  firstDiff,
  type Segmenting,
  T0,
  TcpStreams,
  tcpFlow,
  tcpTraffic,
} from "./native-diff-run.ts";

const enc = (s: string): number[] => [...Buffer.from(s, "latin1")];

const NAMES = [
  "GET",
  "set",
  "Hset",
  "LPUSH",
  "ping",
  "CONFIG",
  "SUBSCRIBE",
  "publish",
  "MGET",
  "incr",
  "x",
  "",
];
const ODD = [0, 1, 9, 10, 13, 31, 32, 34, 92, 127, 128, 181, 200, 223, 255];

function bytes(r: Rng, n: number, odd: boolean): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(odd && r.chance(0.2) ? r.pick(ODD) : r.range(97, 122));
  return out;
}

function bulk(b: number[]): number[] {
  return [...enc(`$${b.length}\r\n`), ...b, 13, 10];
}

/** A client's command: an array of bulk strings, mostly, or an inline line. */
function command(r: Rng, clean: boolean): number[] {
  const name = clean
    ? enc(r.pick(NAMES.slice(0, 10)))
    : r.chance(0.1)
      ? bytes(r, r.range(0, 30), true)
      : enc(r.pick(NAMES));
  if (!clean && r.chance(0.12)) {
    // Inline: words split by spaces or tabs, CRLF or LF; now and then an empty line or a control byte.
    if (r.chance(0.1)) return enc(r.pick(["\r\n", "\n"]));
    const words = [
      name,
      bytes(r, r.chance(0.05) ? r.range(500, 700) : r.range(1, 20), false),
      bytes(r, 3, false),
    ];
    const line: number[] = [];
    for (const w of words) line.push(...(line.length ? [r.pick([32, 9, 32])] : []), ...w);
    if (r.chance(0.05)) line.push(r.pick([1, 200]));
    return [...line, ...(r.chance(0.8) ? [13, 10] : [10])];
  }
  const args: number[][] = [name];
  const n = r.range(0, 4);
  for (let i = 0; i < n; i++) {
    const big = r.chance(0.08);
    args.push(bytes(r, big ? r.range(250, 3000) : r.range(0, 24), !clean));
  }
  const out = enc(`*${args.length}\r\n`);
  for (let i = 0; i < args.length; i++) {
    if (!clean && i > 0 && r.chance(0.05)) out.push(...enc("$-1\r\n"));
    else if (!clean && i > 0 && r.chance(0.04)) out.push(...enc("*2\r\n:1\r\n+x\r\n"));
    else out.push(...bulk(args[i]!));
  }
  if (!clean && r.chance(0.02)) return enc("*-1\r\n");
  if (!clean && r.chance(0.02)) return enc(`*${r.pick(["x", "", "99999999999999999", "-"])}\r\n`);
  return out;
}

function nested(depth: number): number[] {
  return depth === 0 ? enc(":7\r\n") : [...enc("*1\r\n"), ...nested(depth - 1)];
}

/** A server's reply (or push). */
function reply(r: Rng, clean: boolean): number[] {
  if (clean) return enc(r.pick(["+OK\r\n", ":1\r\n", "$3\r\nabc\r\n", "$-1\r\n"]));
  switch (r.int(18)) {
    case 0:
      return enc("+OK\r\n");
    case 1:
      return [...enc("-ERR "), ...bytes(r, r.chance(0.2) ? r.range(250, 400) : r.range(0, 30), true), 13, 10];
    case 2:
      return enc(`:${r.int(100000)}\r\n`);
    case 3:
      return bulk(bytes(r, r.chance(0.1) ? r.range(300, 70_000) : r.range(0, 40), true));
    case 4:
      return enc("*2\r\n$1\r\na\r\n:1\r\n");
    case 5:
      return enc("%1\r\n+k\r\n+v\r\n");
    case 6:
      return enc("~2\r\n+a\r\n+b\r\n");
    case 7:
      return enc(">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$3\r\nmsg\r\n");
    case 8:
      return enc("!10\r\nERR broken\r\n");
    case 9:
      return enc(r.pick(["_\r\n", ",1.5\r\n", "#t\r\n", "(12345678901234567890\r\n"]));
    case 10:
      return enc("=8\r\ntxt:abcd\r\n");
    case 11:
      return nested(r.range(14, 18));
    case 12:
      return enc(r.pick(["*-1\r\n", "$-1\r\n", "*0\r\n", "%0\r\n"]));
    case 13:
      return enc("|1\r\n+a\r\n+b\r\n+OK\r\n");
    case 14:
      return enc("*2\r\n-ERR inner\r\n+x\r\n");
    case 15:
      return enc(r.pick(["-\r\n", '-WRONGTYPE "quoted\\\r\n']));
    case 16:
      return Array.from({ length: r.range(1, 30) }, () => r.int(256));
    default:
      return enc(`$${r.pick(["x", "", "600000000"])}\r\n`);
  }
}

const SEGMENTING: Segmenting = {
  seq0: (r) => r.int(2 ** 32) | 0,
  cut: (r, s, seq0) => cutStream(r, s, seq0),
  lost: 0.03,
  snaplenCut: 0.02,
  repeated: 0.03,
};

/** A client's flow: a first command (or the server's first reply), then exchanges. */
function redisFlow(r: Rng, f: number): { meta: FlowMeta; st: TcpStreams } {
  // Some flows are seen the other way round, first by the server's reply.
  const { meta, reversed, cdir } = tcpFlow(
    r,
    0.15,
    ["10.0.0.6", "10.0.0.7", "2001:db8::6"],
    [6379, 16380],
    30000 + f,
    String(5000 + f),
  );
  const st = new TcpStreams(T0 + r.int(8_000_000));
  if (reversed) st.add((cdir ^ 1) as 0 | 1, enc(r.pick(["+OK\r\n", "+PONG\r\n"])));
  else st.add(cdir, command(r, true));
  st.exchanges(
    r,
    cdir,
    r.range(1, 25),
    0.2,
    6,
    () => command(r, false),
    () => reply(r, false),
  );
  return { meta, st };
}

function run(native: boolean, seed: number, flows: number, opts: Partial<L7ProcessorOptions>): DiffOut {
  const { segs, metas, ends } = tcpTraffic(seed, flows, SEGMENTING, redisFlow);
  return diffRun(native, opts, metas, ends, segs);
}

describe("Redis: native rows = JS rows", () => {
  const cases: [string, Partial<L7ProcessorOptions>][] = [
    ["defaults", {}],
    ["short timeout, 3 pending", { requestTimeoutUs: 500_000, maxPendingPerFlow: 3 }],
    ["one error allowed, small buffers", { maxErrorsPerFlow: 1, maxBufferPerDir: 2048 }],
  ];
  for (const [title, opts] of cases) {
    it(title, () => {
      for (let seed = 1; seed <= 10; seed++) {
        const js = run(false, seed * 104729, 80, opts);
        const nat = run(true, seed * 104729, 80, opts);
        expect(nat.native).toBe("native");
        expect(js.l7.split('"l7_protocol":"redis"').length).toBeGreaterThan(200);
        expect(nat.l7 === js.l7, `seed ${seed}: l7_flow_log\n${firstDiff(js.l7, nat.l7)}`).toBe(true);
        expect(nat.am === js.am, `seed ${seed}: application_metrics\n${firstDiff(js.am, nat.am)}`).toBe(true);
        expect(nat.stats, `seed ${seed}: stats`).toEqual(js.stats);
      }
    });
  }
});
