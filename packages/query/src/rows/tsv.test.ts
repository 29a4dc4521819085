import { describe, expect, it } from "vitest";
import { escapeTsv } from "./columns.ts";
import { ROW_TABLES } from "./index.ts";

/**
 * `Column.tsv` is the bulk-insert fast path: it must accept only values the schema accepts, give
 * exactly what the schema's output encodes to, and accept every schema output. Checked here over
 * each column of every table with valid, odd and invalid values.
 */
const PROBES: unknown[] = [
  0,
  1,
  -1,
  255,
  256,
  65_535,
  65_536,
  4_294_967_295,
  4_294_967_296,
  2 ** 31 - 1,
  -(2 ** 31),
  -(2 ** 31) - 1,
  Number.MAX_SAFE_INTEGER,
  Number.MAX_SAFE_INTEGER + 2,
  1.5,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  "0",
  "42",
  "007",
  "18446744073709551615",
  "18446744073709551616",
  "-3",
  "1e3",
  "",
  "tls",
  "TLS",
  "a".repeat(33),
  "a\tb\\c\nd",
  "x".repeat(5000),
  "10.0.0.1",
  "10.0.0.256",
  "010.0.0.1",
  "::ffff:10.0.0.1",
  "::FFFF:10.0.0.1",
  "fe80::1",
  "2001:db8::8a2e:370:7334",
  "fe80::1%eth0",
  "::",
  "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
  "0190A1B2-C3D4-7E5F-8A9B-0C1D2E3F4A5B",
  "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5",
  true,
  false,
  null,
  undefined,
  [],
  [1, 2, 3],
  Array.from({ length: 16 }, (_, i) => i),
  Array.from({ length: 16 }, (_, i) => (i === 3 ? -1 : i)),
  Array.from({ length: 16 }, (_, i) => String(i)),
  {},
];

describe("Column.tsv (bulk insert fast path)", () => {
  for (const [table, def] of Object.entries(ROW_TABLES)) {
    it(`${table}: agrees with the schema on every probe`, () => {
      for (const [name, c] of Object.entries(def.columns)) {
        for (const v of PROBES) {
          const fast = c.tsv(v);
          const parsed = c.schema.safeParse(v);
          const what = `${table}.${name} ${JSON.stringify(v)}`;
          if (fast !== undefined)
            expect(parsed.success, `${what}: fast path accepts what zod refuses`).toBe(true);
          if (parsed.success) {
            const viaZod = c.tsv(parsed.data);
            expect(viaZod, `${what}: a schema output has no TSV form`).toBeTypeOf("string");
            if (fast !== undefined) expect(fast, `${what}: fast and zod paths disagree`).toBe(viaZod);
          }
        }
      }
    });
  }

  it("escapes what TabSeparated reads specially", () => {
    expect(escapeTsv("plain")).toBe("plain");
    expect(escapeTsv("a\tb\nc\\d\re\0f")).toBe("a\\tb\\nc\\\\d\\re\\0f");
  });
});
