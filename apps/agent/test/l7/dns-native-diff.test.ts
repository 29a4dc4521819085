/**
 * Differential fuzz of DNS over UDP: the native row path (dns-rows-c.ts, rows as JSONL bytes
 * through `rawRows`) against the JS path (protocols/dns.ts and the processor) on the same seeded
 * datagrams: queries and answers with every byte value in their labels, names over 255 bytes,
 * compression pointers (back to the question, forward, out of the message, in loops), unknown
 * types, every rcode, repeated and unanswered transaction ids, orphan answers, a full pending
 * queue, truncated and garbage datagrams, flows ended early and by flush. The l7_flow_log bytes
 * must be equal in the same order, application_metrics too, and every stat.
 */
import { describe, expect, it } from "vitest";
import type { L7ProcessorOptions } from "../../src/l7/index.ts";
import type { FlowMeta } from "../../src/l7/types.ts";
import { Rng } from "./http1-traffic-gen.ts";
import { type DiffOut, diffRun, firstDiff, type Payload, T0 } from "./native-diff-run.ts";

type Dgram = Payload;

/** A name in wire format: labels of random bytes (some over 63: malformed), or a pointer. */
function name(r: Rng, out: number[], msgStart: number): void {
  const labels = r.chance(0.1) ? r.range(5, 12) : r.range(0, 4);
  for (let i = 0; i < labels; i++) {
    if (r.chance(0.08) && out.length - msgStart > 12) {
      // A pointer: to the question's name, to itself (a loop), or anywhere.
      const here = out.length - msgStart;
      const to = r.pick([12, here, r.int(here + 40), 0x3fff]);
      out.push(0xc0 | ((to >> 8) & 0x3f), to & 0xff);
      return;
    }
    const len = r.chance(0.02) ? r.range(64, 80) : r.chance(0.3) ? r.range(40, 63) : r.range(1, 12);
    out.push(len);
    for (let k = 0; k < len; k++) {
      out.push(
        r.chance(0.7)
          ? r.pick([...Buffer.from("abcdefghijklmnopqrstuvwxyz0123456789-")])
          : r.pick([0, 1, 10, 31, 34, 46, 92, 127, 128, 200, 255]),
      );
    }
  }
  out.push(0);
}

function message(r: Rng, query: boolean, id: number, clean: boolean): Uint8Array {
  const b: number[] = [];
  const qd = clean ? 1 : r.pick([0, 1, 1, 1, 2]);
  const opcode = clean ? 0 : r.pick([0, 0, 0, 1, 6]);
  const rcode = query ? 0 : r.pick([0, 0, 0, 1, 2, 3, 3, 4, 5, 9, 15]);
  const flags = (query ? 0 : 0x8000) | (opcode << 11) | 0x0100 | rcode;
  b.push(id >> 8, id & 0xff, flags >> 8, flags & 0xff, 0, qd, 0, query ? 0 : r.range(0, 2), 0, 0, 0, 0);
  if (!clean && qd === 1 && r.chance(0.06)) {
    // The question's name through a chain of 13-18 forward pointers (readName gives up after 16).
    const k = r.range(13, 18);
    const first = 12 + 2 + 4;
    b.push(0xc0, first, 0, 1, 0, 1);
    for (let i = 1; i <= k; i++) b.push(0xc0, first + 2 * i);
    b.push(1, 120, 0);
    return Uint8Array.from(b);
  }
  for (let q = 0; q < qd; q++) {
    if (clean) {
      b.push(3, 119, 119, 119, 7, ...Buffer.from("example"), 3, 99, 111, 109, 0);
    } else name(r, b, 0);
    const t = r.pick([1, 28, 5, 15, 16, 33, 65, 255, 257, 99, 4242, 0, 65535]);
    if (!r.chance(0.05)) b.push(t >> 8, t & 0xff, 0, 1);
  }
  if (!query && r.chance(0.5)) {
    // An answer pointing back at the question.
    b.push(0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 1);
  }
  let out = Uint8Array.from(b);
  if (!clean && r.chance(0.06)) out = out.subarray(0, r.int(out.length + 1));
  if (!clean && r.chance(0.03)) out = Uint8Array.from({ length: r.int(40) }, () => r.int(256));
  return out;
}

function traffic(
  seed: number,
  flows: number,
): { dgrams: Dgram[]; metas: Map<number, FlowMeta>; ends: Map<number, number> } {
  const r = new Rng(seed);
  const dgrams: Dgram[] = [];
  const metas = new Map<number, FlowMeta>();
  const ends = new Map<number, number>();
  for (let f = 0; f < flows; f++) {
    const slot = f + 1;
    const server = r.pick(["10.0.0.53", "10.0.0.54", "2001:db8::35"]);
    metas.set(slot, {
      flowId: String(1000 + f),
      clientIp: server.includes(":") ? "2001:db8::1" : "10.1.0.1",
      clientPort: 20000 + f,
      serverIp: server,
      serverPort: 53,
      ipProtocol: 17,
    });
    let t = T0 + r.int(8_000_000);
    const ids = [r.int(65536), r.int(65536), r.int(65536)];
    // The first datagram is a clean query: detection must take the flow as DNS.
    dgrams.push({ slot, dir: 0, data: message(r, true, ids[0]!, true), ts: t });
    const n = r.range(1, 30);
    for (let i = 0; i < n; i++) {
      t += r.chance(0.1) ? r.range(1_000_000, 40_000_000) : r.range(50, 200_000);
      const query = r.chance(0.55);
      const id = r.chance(0.8) ? r.pick(ids) : r.int(65536);
      dgrams.push({ slot, dir: query ? 0 : 1, data: message(r, query, id, false), ts: t });
    }
    if (r.chance(0.5)) ends.set(slot, t + r.range(0, 5_000_000));
  }
  dgrams.sort((a, b) => a.ts - b.ts);
  return { dgrams, metas, ends };
}

function run(native: boolean, seed: number, flows: number, opts: Partial<L7ProcessorOptions>): DiffOut {
  const { dgrams, metas, ends } = traffic(seed, flows);
  return diffRun(native, opts, metas, ends, dgrams);
}

describe("DNS over UDP: native rows = JS rows", () => {
  const cases: [string, Partial<L7ProcessorOptions>][] = [
    ["defaults", {}],
    ["short timeout, 3 pending", { requestTimeoutUs: 500_000, maxPendingPerFlow: 3 }],
    ["one error allowed", { maxErrorsPerFlow: 1 }],
  ];
  for (const [title, opts] of cases) {
    it(title, () => {
      for (let seed = 1; seed <= 12; seed++) {
        const js = run(false, seed * 7919, 120, opts);
        const nat = run(true, seed * 7919, 120, opts);
        expect(nat.native).toBe("native");
        expect(js.l7.length).toBeGreaterThan(1000);
        expect(nat.l7 === js.l7, `seed ${seed}: l7_flow_log\n${firstDiff(js.l7, nat.l7)}`).toBe(true);
        expect(nat.am === js.am, `seed ${seed}: application_metrics\n${firstDiff(js.am, nat.am)}`).toBe(true);
        expect(nat.stats, `seed ${seed}: stats`).toEqual(js.stats);
      }
    });
  }
});
