/**
 * Differential fuzz of PostgreSQL: the native row path (pg-rows-c.ts, rows as JSONL bytes
 * through `rawRows`) against the JS path (protocols/postgres.ts, sql-normalize.ts and the
 * processor) on the same seeded TCP streams: startups with and without a database, TLS asked
 * and refused or given, cancel requests, simple queries and extended-query batches (named and
 * unnamed statements, Bind of unknown names), SQL with literals of every kind, dollar quotes,
 * quoted identifiers, multi-byte and 4-byte characters, invalid UTF-8 and lengths past every cut
 * (4096 bytes in, 1024 and 128 UTF-16 units out, messages over 64 KiB), answers with errors of
 * every SQLSTATE class and long or broken messages, FATAL errors while logging in, garbage,
 * messages cut anywhere across segments, lost, repeated, reordered and snaplen-cut segments,
 * unanswered requests timing out, a full pending queue, flows ended early and by flush. The
 * l7_flow_log bytes must be equal in the same order, application_metrics too, and every stat.
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

const utf8 = (s: string): number[] => [...Buffer.from(s, "utf8")];
const latin = (s: string): number[] => [...Buffer.from(s, "latin1")];

function i32(n: number): number[] {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
}

/** A typed message: its type byte, its length (itself and the body), its body. */
function msg(t: string, body: number[]): number[] {
  return [t.charCodeAt(0), ...i32(body.length + 4), ...body];
}

const cstr = (b: number[]): number[] => [...b, 0];

const WORDS = ["SELECT", "select", "FROM", "where", "t1", "col_2", "x", "AND", "ö", "名前", "😀", "$1", "e"];
const ODD = [0x80, 0xbf, 0xc0, 0xc3, 0xe2, 0xed, 0xf0, 0xf4, 0xf5, 0xff];

/** SQL text: words, literals of every kind, odd spacing, now and then broken UTF-8 or huge. */
function sql(r: Rng, clean: boolean): number[] {
  if (clean) return utf8(r.pick(["SELECT abalance FROM pgbench_accounts WHERE aid = 42", "BEGIN", "END"]));
  // A surrogate pair across the endpoint's cut (128 units) or the resource's (1024).
  if (r.chance(0.1)) return utf8(`${"x".repeat(r.pick([126, 127, 1022, 1023]))}😀😀 = 1`);
  const out: number[] = [];
  const n = r.chance(0.05) ? r.range(300, 1500) : r.range(1, 14);
  for (let i = 0; i < n; i++) {
    if (out.length > 0) out.push(...utf8(r.pick([" ", "  ", "\t", "\n", "\r\n", "", ","])));
    switch (r.int(16)) {
      case 0:
        out.push(...utf8(`'it''s ${r.pick(["a", "ö", "😀", ""])}'`));
        break;
      case 1:
        out.push(...utf8(String(r.int(100000))));
        break;
      case 2:
        out.push(...utf8(r.pick(["1.5e-3", ".5", "0x1F", "1E+10", "3.", "12abc"])));
        break;
      case 3:
        out.push(...utf8(r.pick(["$$a 'b'$$", "$tag$ x $tag$", "$t1$ unclosed", "$1", "$", "$9$", "$a b$"])));
        break;
      case 4:
        out.push(...utf8(r.pick(['"Quoted Id"', '"unclosed', '""', "`back tick`", "`unclosed"])));
        break;
      case 5:
        out.push(r.pick(ODD));
        break;
      case 6:
        out.push(...utf8("😀".repeat(r.range(1, 3))));
        break;
      case 7:
        out.push(...utf8(`'${"x".repeat(r.range(0, 50))}`)); // an unclosed literal
        break;
      case 8: {
        // Bytes of any value, mostly above 127 (overlong, surrogate, truncated sequences), and NUL.
        const n = r.range(1, 8);
        for (let k = 0; k < n; k++) out.push(r.chance(0.8) ? r.range(0x80, 0xff) : r.int(128));
        break;
      }
      case 9: {
        // Dollar-quote tags about the 64 characters the pattern looks at.
        const tag = "t".repeat(r.pick([62, 63, 64, 65]));
        out.push(...utf8(`$${tag}$ body $${tag}$`));
        break;
      }
      default:
        out.push(...utf8(r.pick(WORDS)));
    }
  }
  return out;
}

/** A latin1 name with, now and then, bytes above 127. */
function name(r: Rng): number[] {
  const out = latin(r.pick(["app", "postgres", "bench", "x", "données"]));
  if (r.chance(0.15)) out.push(r.pick([0xe9, 0xff, 0x80]));
  if (r.chance(0.05)) out.push(...Array.from({ length: r.range(60, 80) }, () => 97));
  return out;
}

function startup(r: Rng): number[] {
  const params: number[] = [];
  if (r.chance(0.9)) params.push(...cstr(latin("user")), ...cstr(name(r)));
  if (r.chance(0.7)) params.push(...cstr(latin("database")), ...cstr(name(r)));
  if (r.chance(0.3)) params.push(...cstr(latin("application_name")), ...cstr(latin("psql")));
  if (r.chance(0.05)) params.push(...cstr(latin("x".repeat(40))), ...cstr(latin("y")));
  params.push(0);
  return [...i32(params.length + 8), ...i32(196608), ...params];
}

/** One client request: a simple query, an extended-query batch, or something else. */
function request(r: Rng, clean: boolean, stmts: string[]): number[] {
  if (clean) return msg("Q", cstr(sql(r, true)));
  switch (r.int(12)) {
    case 0:
    case 1:
    case 2:
    case 3: {
      const body = cstr(sql(r, false));
      if (r.chance(0.02)) body.splice(0, 0, ...utf8("x".repeat(r.range(4100, 70_000))));
      return msg("Q", body);
    }
    case 4:
    case 5:
    case 6: {
      const out: number[] = [];
      const st = r.chance(0.5) ? "" : r.pick(["s1", "s2", "stmt_é", "s3"]);
      if (r.chance(0.8)) {
        out.push(...msg("P", [...cstr(latin(st)), ...cstr(sql(r, false)), 0, 0]));
        if (st) stmts.push(st);
      }
      const bound = r.chance(0.2) && stmts.length > 0 ? r.pick(stmts) : st;
      out.push(...msg("B", [...cstr([]), ...cstr(latin(bound)), 0, 0, 0, 0, 0, 0]));
      if (r.chance(0.5)) out.push(...msg("D", [0x50, 0]));
      out.push(...msg("E", [...cstr([]), 0, 0, 0, 0]));
      if (r.chance(0.2)) out.push(...msg("H", []));
      if (r.chance(0.9)) out.push(...msg("S", []));
      return out;
    }
    case 7:
      return msg("S", []);
    case 8:
      return msg(r.pick(["C", "p", "d", "c"]), cstr(latin("x")));
    case 9:
      return msg("X", []);
    case 10:
      return r.chance(0.5) ? [0x7a, 0, 0, 0, 9, 1, 2, 3, 4] : [0x51, 0xff, 0xff, 0xff, 0xff];
    default:
      return msg("Q", cstr(sql(r, false)));
  }
}

function errorFields(r: Rng, login: boolean): number[] {
  const code = r.pick(["08006", "53300", "57P01", "58000", "XX000", "42P01", "23505", "0", "", "08"]);
  const sev = login && r.chance(0.5) ? r.pick(["FATAL", "PANIC"]) : r.pick(["ERROR", "WARNING", "FATAL"]);
  const out: number[] = [];
  // Now and then V before S, or S twice, with other severities: the first S or any V wins.
  if (r.chance(0.2)) out.push(0x56, ...cstr(latin(r.pick(["FATAL", "ERROR"]))));
  if (r.chance(0.9)) out.push(0x53, ...cstr(latin(sev)));
  if (r.chance(0.2)) out.push(0x53, ...cstr(latin(r.pick(["PANIC", "LOG"]))));
  if (r.chance(0.7)) out.push(0x56, ...cstr(latin(sev)));
  if (r.chance(0.9)) out.push(0x43, ...cstr(latin(code)));
  if (r.chance(0.9)) {
    // Long messages: cut at 256 bytes, then (with the SQLSTATE) at 256 units, across a pair.
    const m = r.chance(0.2)
      ? utf8("é😀".repeat(r.range(60, 120)))
      : r.chance(0.15)
        ? utf8(`${"m".repeat(r.range(247, 250))}😀zz`)
        : utf8(`relation "t${r.int(9)}" does not exist`);
    if (r.chance(0.1)) m.push(r.pick(ODD));
    out.push(0x4d, ...cstr(m));
  }
  out.push(0);
  return out;
}

/** The server's answer to one request (or a login), ending with ReadyForQuery mostly. */
function answer(r: Rng, login: boolean, clean: boolean): number[] {
  const out: number[] = [];
  if (login) {
    if (!clean && r.chance(0.1)) return msg("E", errorFields(r, true));
    out.push(...msg("R", i32(0)), ...msg("S", cstr(latin("server_version")).concat(cstr(latin("16")))));
    out.push(...msg("K", [...i32(42), ...i32(7)]));
  } else if (clean || r.chance(0.75)) {
    if (r.chance(0.5)) out.push(...msg("1", []), ...msg("2", []));
    out.push(...msg("T", [0, 1, ...cstr(latin("a")), ...i32(0), 0, 0, ...i32(23), 0, 4, ...i32(-1), 0, 0]));
    const rows = r.chance(0.05) ? r.range(50, 400) : r.range(0, 3);
    for (let i = 0; i < rows; i++) out.push(...msg("D", [0, 1, ...i32(2), 49, 50]));
    if (r.chance(0.03))
      out.push(
        ...msg(
          "D",
          Array.from({ length: 5000 }, () => 1),
        ),
      );
    out.push(...msg("C", cstr(latin(`SELECT ${rows}`))));
  } else {
    switch (r.int(5)) {
      case 0:
        out.push(...msg("E", errorFields(r, false)));
        break;
      case 1:
        out.push(...msg("N", errorFields(r, false)));
        break;
      case 2:
        out.push(...msg("I", []), ...msg("A", [...i32(1), ...cstr(latin("ch")), 0]));
        break;
      case 3:
        out.push(r.pick([0x21, 0x7e]), ...i32(5), 0);
        break;
      default:
        out.push(...msg("E", [0x43, ...cstr(latin("42601")), 0x4d, ...cstr(utf8("x".repeat(20_000))), 0]));
    }
  }
  if (clean || r.chance(0.9)) out.push(...msg("Z", [0x49]));
  return out;
}

const SEGMENTING: Segmenting = {
  seq0: (r) => (r.chance(0.05) ? -1 : r.int(2 ** 32) | 0),
  // The first messages a segment each, mostly (a startup, as clients send it).
  cut: (r, s, seq0, ends) => cutStream(r, s, seq0, ends, r.chance(0.9) ? 3 : 0),
  lost: 0.02,
  snaplenCut: 0.02,
  repeated: 0.02,
};

/** A client's flow: a startup (TLS asked first now and then) or a cancel request, then exchanges. */
function pgFlow(r: Rng, f: number): { meta: FlowMeta; st: TcpStreams } {
  // Some flows are seen the other way round, first by the server's AuthenticationOk.
  const { meta, reversed, cdir } = tcpFlow(
    r,
    0.1,
    ["10.0.0.5", "10.0.0.8", "2001:db8::5"],
    [5432, 6432],
    40000 + f,
    String(7000 + f),
  );
  const sdir = (cdir ^ 1) as 0 | 1;
  const st = new TcpStreams(T0 + r.int(8_000_000));
  const stmts: string[] = [];
  if (reversed) st.add(sdir, msg("R", i32(0)));
  else if (r.chance(0.05)) {
    // A cancel request on a connection of its own.
    st.add(cdir, [...i32(16), ...i32(80877102), ...i32(42), ...i32(7)]);
    return { meta, st };
  } else {
    if (r.chance(0.2)) {
      st.add(cdir, [...i32(8), ...i32(80877103)]);
      st.t += r.range(10, 500);
      st.add(sdir, [r.chance(0.2) ? 0x53 : 0x4e]);
    }
    st.add(cdir, startup(r));
    st.t += r.range(100, 3000);
    st.add(sdir, answer(r, true, false));
  }
  if (r.chance(0.1)) {
    // More named statements than are kept (256): later names and changes are not.
    const storm: number[] = [];
    for (let k = 0; k < 270; k++)
      storm.push(...msg("P", [...cstr(latin(`s${k}`)), ...cstr(utf8(`SELECT c${k}`)), 0, 0]));
    storm.push(...msg("P", [...cstr(latin("s5")), ...cstr(utf8("SELECT changed")), 0, 0]));
    for (const k of [3, 5, 255, 256, 269])
      storm.push(...msg("B", [0, ...cstr(latin(`s${k}`)), 0, 0, 0, 0, 0, 0]), ...msg("S", []));
    st.add(cdir, storm);
    st.t += r.range(10, 5000);
    for (let k = 0; k < 5; k++) st.add(sdir, answer(r, false, true));
  }
  st.exchanges(
    r,
    cdir,
    r.range(1, 20),
    0.15,
    4,
    () => request(r, false, stmts),
    () => answer(r, false, false),
  );
  if (r.chance(0.3)) st.add(cdir, msg("X", []));
  return { meta, st };
}

function run(native: boolean, seed: number, flows: number, opts: Partial<L7ProcessorOptions>): DiffOut {
  const { segs, metas, ends } = tcpTraffic(seed, flows, SEGMENTING, pgFlow);
  return diffRun(native, opts, metas, ends, segs);
}

describe("PostgreSQL: native rows = JS rows", () => {
  // Only HTTP (the native path needs it on) and PostgreSQL: a flow another parser took would
  // write its rows at once, ahead of the native rows still in their buffer.
  const only = { protocols: ["http", "postgresql"] };
  const cases: [string, Partial<L7ProcessorOptions>][] = [
    ["defaults", only],
    ["short timeout, 2 pending", { ...only, requestTimeoutUs: 500_000, maxPendingPerFlow: 2 }],
    ["one error allowed, small buffers", { ...only, maxErrorsPerFlow: 1, maxBufferPerDir: 2048 }],
  ];
  for (const [title, opts] of cases) {
    it(title, () => {
      for (let seed = 1; seed <= 10; seed++) {
        const js = run(false, seed * 7919, 60, opts);
        const nat = run(true, seed * 7919, 60, opts);
        expect(nat.native).toBe("native");
        expect(js.l7.split('"l7_protocol":"postgresql"').length).toBeGreaterThan(100);
        expect(nat.l7 === js.l7, `seed ${seed}: l7_flow_log\n${firstDiff(js.l7, nat.l7)}`).toBe(true);
        expect(nat.am === js.am, `seed ${seed}: application_metrics\n${firstDiff(js.am, nat.am)}`).toBe(true);
        expect(nat.stats, `seed ${seed}: stats`).toEqual(js.stats);
      }
    });
  }
});
