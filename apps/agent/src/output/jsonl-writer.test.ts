import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { JsonlWriter } from "./jsonl-writer.ts";

const tmp = mkdtempSync(join(tmpdir(), "fp-jsonl-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("JsonlWriter", () => {
  it("writes exactly what JSON.stringify writes, whatever the values", () => {
    const value = fc.oneof(
      fc.string(),
      fc.string({ unit: "binary" }),
      // Repeated values exercise the per-column copy of the last string.
      fc.constantFrom("", "127.0.0.1", "00000000-0000-0000-0000-000000000000", "x".repeat(70), "é"),
      fc.double(),
      fc.integer(),
      fc.maxSafeInteger(),
      fc.constantFrom(-0, 2 ** 31, -(2 ** 31), 2 ** 31 - 1, 1e8, 99_999_999, 2 ** 53, 1e21, 1795699971954577),
      fc.boolean(),
      fc.constant(null),
      fc.constant(undefined),
      fc.array(fc.integer(), { maxLength: 4 }),
      // Arrays of numbers are written element by element; one holding anything else is not.
      fc.array(fc.oneof(fc.double(), fc.constant(-0), fc.maxSafeInteger(), fc.constant(null)), {
        maxLength: 14,
      }),
      fc.record({ n: fc.integer() }),
    );
    // Plain keys, a key that needs escaping, and the same keys in another order.
    const row = fc.oneof(
      fc.record({ a: value, b: value, flow_id: fc.string() }),
      fc.record({ a: value, 'c"d': value, é: value }),
      fc.record({ flow_id: fc.string(), b: value, a: value }),
      fc.record({ a: value, b: value }),
    );
    let n = 0;
    fc.assert(
      fc.property(fc.array(row, { minLength: 1, maxLength: 30 }), (rows) => {
        const file = join(tmp, `r${n++}.jsonl`);
        const w = new JsonlWriter(file);
        for (const r of rows) w.write(r);
        w.close();
        expect(readFileSync(file, "utf8")).toBe(rows.map((r) => `${JSON.stringify(r)}\n`).join(""));
      }),
      { numRuns: 300 },
    );
  });

  it("rows of a second shape, and lines past the buffer size, still come out right", () => {
    const file = join(tmp, "shapes.jsonl");
    const w = new JsonlWriter(file);
    const rows: object[] = [];
    for (let i = 0; i < 20_000; i++) {
      const r = i % 3 === 0 ? { x: i, y: `s${i}`, z: true } : { y: `é${i}`, x: i / 7 };
      rows.push(r);
      w.write(r);
    }
    const big = { big: "x".repeat(2 << 20) };
    rows.push(big);
    w.write(big);
    w.close();
    expect(readFileSync(file, "utf8")).toBe(rows.map((r) => `${JSON.stringify(r)}\n`).join(""));
  });
});
