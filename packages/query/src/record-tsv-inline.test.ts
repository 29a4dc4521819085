import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { setTsvWriters, TsvRows } from "./record-tsv.ts";
import { ROW_TABLES, type TRowTableName } from "./rows/index.ts";
import { encodeTsvLines, wireColumns } from "./rows/wire-tsv.ts";
import { AGENT, appRow, l4Row, l7Row, networkRow, ORG_A } from "./testing-fixtures.ts";
import { loadTsvNative } from "./tsv-native.ts";

/**
 * The fast checks inlined into a plan's line function, and the C writer (native/tsv-lines.c), must
 * judge and write every field exactly as the per-column writer functions do (the reference form):
 * same payload bytes, same rejections with the same "row N, column C: reason" messages, on valid,
 * near-valid and malformed fields and lines.
 */
const native = loadTsvNative();
const FIXTURES: Record<TRowTableName, () => Record<string, unknown>> = {
  l4_flow_log: () => l4Row() as Record<string, unknown>,
  l7_flow_log: () => l7Row() as Record<string, unknown>,
  network_metrics: () => networkRow() as Record<string, unknown>,
  application_metrics: () => appRow() as Record<string, unknown>,
};

/** Field texts near the fast checks' edges: digits, dots, hex, signs, escapes, bytes above ASCII. */
const fieldText = fc.oneof(
  fc.stringMatching(/^[0-9]{0,20}$/),
  fc.stringMatching(/^[0-9.]{0,16}$/),
  fc.stringMatching(/^(25[0-6]|2[0-4][0-9]|1?[0-9]?[0-9]|0[0-9])(\.(25[0-6]|1?[0-9]?[0-9]|00)){2,4}$/),
  fc.stringMatching(/^[0-9a-fA-F-]{30,38}$/),
  fc.uuid().map((u) => (u.length % 2 ? u.toUpperCase() : u)),
  fc.stringMatching(/^[a-zA-Z0-9_.\- ]{0,34}$/),
  fc.constantFrom("", "\\N", "true", "false", "True", "fals", "::", "-1", "1.5", "0", "00", "1e3"),
  fc.integer({ min: 0, max: 2 ** 53 - 1 }).map(String),
  fc.bigInt({ min: 0n, max: 2n ** 65n }).map(String),
  fc.string({ unit: "binary", maxLength: 12 }).map((s) => s.replace(/[\t\n]/g, " ")),
);

function encodeAll(table: TRowTableName, body: Buffer, columns: string[], rows: number) {
  const run = (form: "native" | "inline" | "closures") => {
    setTsvWriters(form);
    const t = new TsvRows(table, columns, body, 0, rows);
    return t.encode(
      ORG_A,
      AGENT,
      new Map([["server_resource_id", Uint32Array.from({ length: rows }, (_, i) => i % 3)]]),
    );
  };
  return { native: run("native"), inline: run("inline"), closures: run("closures") };
}

function expectSame(a: ReturnType<typeof run1>, b: ReturnType<typeof run1>) {
  expect(a.rejected).toEqual(b.rejected);
  expect(a.rows).toBe(b.rows);
  expect(a.payload.equals(b.payload)).toBe(true);
}
type TRun = ReturnType<typeof encodeAll>;
const run1 = (r: TRun) => r.closures;

/** Microseconds around calendar edges: leap days, century years (2000 leap, 2100 and 2200 not), year ends. */
const EDGE_DAYS = [
  "1972-02-29",
  "2000-02-29",
  "2000-03-01",
  "2024-02-29",
  "2024-12-31",
  "2100-02-28",
  "2100-03-01",
  "2200-03-01",
  "2255-01-01",
];
const edgeTime = fc
  .tuple(
    fc.constantFrom(...EDGE_DAYS),
    fc.integer({ min: -86_400, max: 86_400 }),
    fc.integer({ min: 0, max: 999_999 }),
  )
  .map(([day, s, us]) => (Date.parse(`${day}T00:00:00Z`) / 1000 + s) * 1_000_000 + us);

describe("TsvRows inlined checks (differential against the writer functions)", () => {
  afterEach(() => setTsvWriters("native"));

  it("the C writer builds here (else the JS writers run, and this suite compares those alone)", () => {
    expect(typeof native === "string" ? native : "loaded").toBe("loaded");
  });

  for (const [table, make] of Object.entries(FIXTURES) as [TRowTableName, () => Record<string, unknown>][]) {
    it(`${table}: random fields give the same bytes and the same rejections`, () => {
      const columns = wireColumns(ROW_TABLES[table]);
      const valid = encodeTsvLines(ROW_TABLES[table], columns, [make()]).replace(/\n$/, "").split("\t");
      fc.assert(
        fc.property(
          fc.array(fc.tuple(fc.nat(columns.length - 1), fieldText), { minLength: 1, maxLength: 6 }),
          fc.array(fc.tuple(fc.nat(columns.length - 1), fieldText), { maxLength: 3 }),
          (edits, edits2) => {
            const lines = [edits, edits2, []].map((e) => {
              const fields = [...valid];
              for (const [at, text] of e) fields[at] = text;
              return fields.join("\t");
            });
            const body = Buffer.from(`${lines.join("\n")}\n`);
            const all = encodeAll(table, body, columns, lines.length);
            expectSame(all.inline, all.closures);
            expectSame(all.native, all.closures);
          },
        ),
        { numRuns: 400 },
      );
    });
  }

  it("times anywhere in the fast range (1970-01-12 to 2255) are written alike", () => {
    const columns = wireColumns(ROW_TABLES.l4_flow_log);
    const at = columns.indexOf("start_time");
    const valid = encodeTsvLines(ROW_TABLES.l4_flow_log, columns, [l4Row() as Record<string, unknown>])
      .replace(/\n$/, "")
      .split("\t");
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.integer({ min: 999_000, max: 2 ** 53 - 1 }), edgeTime), {
          minLength: 1,
          maxLength: 20,
        }),
        (times) => {
          const body = Buffer.from(
            `${times.map((t) => valid.map((f, i) => (i === at ? String(t) : f)).join("\t")).join("\n")}\n`,
          );
          const all = encodeAll("l4_flow_log", body, columns, times.length);
          expectSame(all.native, all.closures);
          expectSame(all.inline, all.closures);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("malformed lines (wrong widths, stray bytes) are judged alike", () => {
    const columns = wireColumns(ROW_TABLES.l4_flow_log);
    const valid = encodeTsvLines(ROW_TABLES.l4_flow_log, columns, [
      l4Row() as Record<string, unknown>,
    ]).replace(/\n$/, "");
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(valid.length), fc.string({ unit: "binary", maxLength: 4 })), {
          maxLength: 5,
        }),
        (cuts) => {
          let line = valid;
          for (const [at, text] of cuts)
            line = `${line.slice(0, at)}${text.replace(/\n/g, "\t")}${line.slice(at + 1)}`;
          const body = Buffer.from(`${line}\n${valid}\n`);
          const all = encodeAll("l4_flow_log", body, columns, 2);
          expectSame(all.inline, all.closures);
          expectSame(all.native, all.closures);
        },
      ),
      { numRuns: 400 },
    );
  });
});
