import { describe, expect, it } from "vitest";
import { encodeRows } from "./record-rows.ts";
import { TsvBatchError, TsvRows, tsvPlanCache } from "./record-tsv.ts";
import { ROW_TABLES, type TRowTableName } from "./rows/index.ts";
import { encodeTsvLines, wireColumns } from "./rows/wire-tsv.ts";
import { AGENT, appRow, l4Row, l7Row, networkRow, ORG_A, ORG_B } from "./testing-fixtures.ts";

/**
 * The compact encoding's byte path must write exactly what the JSON path writes for the same rows,
 * reject exactly the rows it rejects (naming row and column), and never write another org's id.
 */
function viaTsv(
  table: TRowTableName,
  rows: Record<string, unknown>[],
  columns = wireColumns(ROW_TABLES[table]),
) {
  const body = Buffer.from(encodeTsvLines(ROW_TABLES[table], columns, rows));
  return new TsvRows(table, columns, body, 0, rows.length).encode(ORG_A, AGENT);
}

const FIXTURES: Record<TRowTableName, () => Record<string, unknown>> = {
  l4_flow_log: () => l4Row() as Record<string, unknown>,
  l7_flow_log: () => l7Row() as Record<string, unknown>,
  network_metrics: () => networkRow() as Record<string, unknown>,
  application_metrics: () => appRow() as Record<string, unknown>,
};

/** Odd and invalid values for each column; the two paths must agree on every one. */
const VALUES: unknown[] = [
  0,
  1,
  -1,
  255,
  256,
  65_536,
  4_294_967_296,
  2 ** 31,
  Number.MAX_SAFE_INTEGER,
  1.5,
  "007",
  "42",
  "18446744073709551615",
  "18446744073709551616",
  "",
  "tls",
  "TLS",
  "a".repeat(33),
  "a\tb\\c\nd",
  "x".repeat(5000),
  "naïve ☃",
  "10.0.0.1",
  "010.0.0.1",
  "::ffff:10.0.0.1",
  "2001:db8::1",
  "0190A1B2-C3D4-7E5F-8A9B-0C1D2E3F4A5B",
  true,
  false,
  null,
  undefined,
  [1, 2, 3],
  Array.from({ length: 16 }, (_, i) => i),
  1_764_164_565_123_456,
];

describe("TsvRows (compact ingest, byte path)", () => {
  for (const [table, make] of Object.entries(FIXTURES) as [TRowTableName, () => Record<string, unknown>][]) {
    it(`${table}: valid rows give the JSON path's payload byte for byte`, () => {
      const rows = [make(), make(), make()];
      expect(viaTsv(table, rows).payload.toString()).toBe(
        encodeRows(table, ORG_A, rows, { agentId: AGENT }).payload.toString(),
      );
    });

    it(`${table}: every field judged as the column's own checks judge its text, value by value`, () => {
      const def = ROW_TABLES[table];
      const rows: Record<string, unknown>[] = [make(), make()];
      for (const name of wireColumns(def)) {
        for (const v of VALUES) {
          const row = make();
          if (v === undefined) delete row[name];
          else row[name] = v;
          rows.push(row);
        }
      }
      const columns = wireColumns(def);
      const t = new TsvRows(
        table,
        columns,
        Buffer.from(encodeTsvLines(ROW_TABLES[table], columns, rows)),
        0,
        rows.length,
      );
      // The oracle: the lines as wire values (what their text means) through the JSON path.
      const { own } = t.toRows();
      const json = encodeRows(
        table,
        ORG_A,
        own.map((o) => o.row),
        { agentId: AGENT },
      );
      const tsv = t.encode(ORG_A, AGENT);
      expect(tsv.rows).toBe(json.rows);
      expect(tsv.rejected.map((r) => r.index)).toEqual(json.rejected.map((r) => own[r.index]?.index));
      expect(tsv.payload.toString()).toBe(json.payload.toString());
      expect(tsv.rejected.length).toBeGreaterThan(0);
      for (const r of tsv.rejected)
        expect(r.error).toMatch(new RegExp(`^row ${r.index}, column [a-z_0-9]+: `));
    });
  }

  it("stamps the credential's org and agent on every row; the header cannot name them", () => {
    const out = viaTsv("l4_flow_log", [l4Row() as Record<string, unknown>]);
    expect(out.payload.toString().startsWith(`${ORG_A}\t${AGENT}\t`)).toBe(true);
    const columns = ["org_id", ...wireColumns(ROW_TABLES.l4_flow_log)];
    const body = Buffer.from(
      encodeTsvLines(ROW_TABLES.l4_flow_log, columns, [{ ...l4Row(), org_id: ORG_B }]),
    );
    expect(() => new TsvRows("l4_flow_log", columns, body, 0, 1)).toThrow(TsvBatchError);
  });

  it("refuses a body cut short, a missing required column; rejects a line of the wrong width by index", () => {
    const columns = wireColumns(ROW_TABLES.l4_flow_log);
    const two = encodeTsvLines(ROW_TABLES.l4_flow_log, columns, [l4Row(), l4Row()] as Record<
      string,
      unknown
    >[]);
    expect(() => new TsvRows("l4_flow_log", columns, Buffer.from(two), 0, 3)).toThrow(/2 lines.*says 3/);
    expect(() => new TsvRows("l4_flow_log", columns, Buffer.from(two), 0, 50_000)).toThrow(/too short/);
    const noIp = columns.filter((c) => c !== "client_ip");
    const body = Buffer.from(
      encodeTsvLines(ROW_TABLES.l4_flow_log, noIp, [l4Row()] as Record<string, unknown>[]),
    );
    expect(() => new TsvRows("l4_flow_log", noIp, body, 0, 1)).toThrow(/client_ip/);
    const lines = two.split("\n");
    const cut = Buffer.from(`${lines[0]}\n${lines[1]?.split("\t").slice(0, 5).join("\t")}\n`);
    const out = new TsvRows("l4_flow_log", columns, cut, 0, 2).encode(ORG_A, AGENT);
    expect(out.rows).toBe(1);
    expect(out.rejected).toEqual([
      { index: 1, error: `row 1: 5 fields, the header names ${columns.length} columns` },
    ]);
  });

  it("skips columns it does not know, fills omitted optionals with the default, applies tag overrides", () => {
    const columns = [
      ...wireColumns(ROW_TABLES.l4_flow_log).filter((c) => c !== "report_seq"),
      "from_the_future",
    ];
    const rows = [
      { ...l4Row(), from_the_future: "x" },
      { ...l4Row(), from_the_future: "y" },
    ] as Record<string, unknown>[];
    const body = Buffer.from(encodeTsvLines(ROW_TABLES.l4_flow_log, columns, rows));
    const ov = new Map([["server_resource_id", Uint32Array.from([7, 0])]]);
    const out = new TsvRows("l4_flow_log", columns, body, 0, 2).encode(ORG_A, AGENT, ov);
    const json = encodeRows(
      "l4_flow_log",
      ORG_A,
      rows.map((r, i) => {
        const { report_seq: _omit, ...rest } = r;
        return i === 0 ? { ...rest, server_resource_id: 7 } : rest;
      }),
      { agentId: AGENT },
    );
    expect(out.payload.toString()).toBe(json.payload.toString());
  });

  it("keeps its plan cache small whatever column names agents make up", () => {
    const table = ROW_TABLES.network_metrics;
    const rows = [networkRow()] as Record<string, unknown>[];
    const lines = encodeTsvLines(table, wireColumns(table), rows).replace("\n", "\t\n");
    const json = encodeRows("network_metrics", ORG_A, rows, { agentId: AGENT });
    for (let i = 0; i < 300; i++) {
      // An unknown column (skipped) with a long name of its own each time.
      const columns = [...wireColumns(table), `x${"a".repeat(100_000)}${i}`];
      const t = new TsvRows("network_metrics", columns, Buffer.from(lines), 0, 1);
      expect(t.encode(ORG_A, AGENT).payload.toString()).toBe(json.payload.toString());
    }
    expect(tsvPlanCache().keyChars).toBeLessThan(100_000);
  });

  it("toRows gives the JSON path's row objects", () => {
    const rows = [l4Row(), l4Row({ flow_id: "18446744073709551615", tunnel_outer_src: "" })] as Record<
      string,
      unknown
    >[];
    const columns = wireColumns(ROW_TABLES.l4_flow_log);
    const t = new TsvRows(
      "l4_flow_log",
      columns,
      Buffer.from(encodeTsvLines(ROW_TABLES.l4_flow_log, columns, rows)),
      0,
      2,
    );
    const wire = rows.map(({ org_id: _o, agent_id: _a, ...rest }) => rest);
    expect(t.toRows().own.map((o) => o.row)).toEqual(wire);
  });
});
