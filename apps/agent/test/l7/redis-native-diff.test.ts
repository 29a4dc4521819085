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
import { Rng } from "./http1-traffic-gen.ts";
import { type DiffOut, diffRun, firstDiff, type Payload, T0 } from "./native-diff-run.ts";

const enc = (s: string): number[] => [...Buffer.from(s, "latin1")];

type Seg = Payload;

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

/** Cuts a byte stream into segments of random sizes, each with its sequence number. */
function cut(r: Rng, s: number[], seq0: number): { data: number[]; seq: number }[] {
  const out: { data: number[]; seq: number }[] = [];
  let i = 0;
  while (i < s.length) {
    const n = r.chance(0.3) ? r.range(1, 12) : r.range(20, 1400);
    out.push({ data: s.slice(i, i + n), seq: (seq0 + i) | 0 });
    i += n;
  }
  return out;
}

function traffic(
  seed: number,
  flows: number,
): { segs: Seg[]; metas: Map<number, FlowMeta>; ends: Map<number, number> } {
  const r = new Rng(seed);
  const segs: Seg[] = [];
  const metas = new Map<number, FlowMeta>();
  const ends = new Map<number, number>();
  for (let f = 0; f < flows; f++) {
    const slot = f + 1;
    // Some flows are seen the other way round (the server's side as dir 0), first by its reply.
    const reversed = r.chance(0.15);
    const server = { ip: r.pick(["10.0.0.6", "10.0.0.7", "2001:db8::6"]), port: r.pick([6379, 16380]) };
    const client = { ip: server.ip.includes(":") ? "2001:db8::1" : "10.1.0.1", port: 30000 + f };
    const [a, b] = reversed ? [server, client] : [client, server];
    metas.set(slot, {
      flowId: String(5000 + f),
      clientIp: a.ip,
      clientPort: a.port,
      serverIp: b.ip,
      serverPort: b.port,
      ipProtocol: 6,
    });
    const cdir: 0 | 1 = reversed ? 1 : 0;
    const streams: number[][] = [[], []];
    /** Per direction, where each message ends in its stream and when it was sent. */
    const sent: { end: number; at: number }[][] = [[], []];
    let t = T0 + r.int(8_000_000);
    const add = (dir: 0 | 1, m: number[]) => {
      streams[dir]!.push(...m);
      sent[dir]!.push({ end: streams[dir]!.length, at: t });
    };
    if (reversed) add((cdir ^ 1) as 0 | 1, enc(r.pick(["+OK\r\n", "+PONG\r\n"])));
    else add(cdir, command(r, true));
    const exchanges = r.range(1, 25);
    for (let i = 0; i < exchanges; i++) {
      t += r.chance(0.08) ? r.range(1_000_000, 40_000_000) : r.range(20, 150_000);
      const pipelined = r.chance(0.2) ? r.range(2, 6) : 1;
      for (let k = 0; k < pipelined; k++) add(cdir, command(r, false));
      t += r.range(10, 5000);
      const answers = r.chance(0.1) ? pipelined - 1 : pipelined + (r.chance(0.05) ? 1 : 0);
      for (let k = 0; k < answers; k++) add((cdir ^ 1) as 0 | 1, reply(r, false));
    }
    // Each direction's stream in segments, each sent when the message of its last byte was.
    for (const dir of [0, 1] as const) {
      const seq0 = r.int(2 ** 32) | 0;
      let off = 0;
      let m = 0;
      for (const piece of cut(r, streams[dir]!, seq0)) {
        off += piece.data.length;
        while (m < sent[dir]!.length - 1 && sent[dir]![m]!.end < off) m++;
        const at = sent[dir]![m]!.at + r.int(50);
        let data = Uint8Array.from(piece.data);
        const wire = data.length;
        if (r.chance(0.03)) continue; // lost
        if (r.chance(0.02)) data = data.subarray(0, r.int(data.length)); // snaplen cut
        segs.push({ slot, dir, data, wire, seq: piece.seq, ts: at });
        if (r.chance(0.03)) segs.push({ slot, dir, data, wire, seq: piece.seq, ts: at + 1 }); // retransmitted
      }
    }
    if (r.chance(0.4)) ends.set(slot, t + r.range(0, 5_000_000));
  }
  // In time order, with now and then two neighbours swapped (out of order).
  segs.sort((x, y) => x.ts - y.ts);
  for (let i = 1; i < segs.length; i++) {
    if (r.chance(0.02) && segs[i]!.slot === segs[i - 1]!.slot) {
      const tmp = segs[i]!;
      segs[i] = segs[i - 1]!;
      segs[i - 1] = tmp;
    }
  }
  return { segs, metas, ends };
}

function run(native: boolean, seed: number, flows: number, opts: Partial<L7ProcessorOptions>): DiffOut {
  const { segs, metas, ends } = traffic(seed, flows);
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
