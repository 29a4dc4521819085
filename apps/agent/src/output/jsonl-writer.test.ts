import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
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

  it("rows that repeat the previous row's values (copied from its bytes) match JSON.stringify", () => {
    // Few distinct values per column, so most columns equal the previous row's and runs of them
    // are copied; escaped, non-ASCII and lone-surrogate strings, -0, NaN, arrays (never copied:
    // the same array may come back changed) and a row that falls back in the middle of a run.
    const pool = [
      "",
      "127.0.0.1",
      'a"b',
      "back\\slash",
      "tab\t",
      "é",
      "😀",
      "\ud800",
      "x\udc00y",
      "del\u007f",
      0,
      -0,
      7,
      -12,
      2 ** 31,
      1795717800194588,
      0.5,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      true,
      false,
      null,
    ];
    const value = fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(...pool) },
      fc.string({ unit: "grapheme", maxLength: 6 }),
      fc.string({ unit: "binary", maxLength: 6 }),
      fc.constant(undefined),
      fc.array(fc.integer(), { maxLength: 3 }),
    );
    const shared = [0, 1, 2];
    const row = fc.oneof(
      { weight: 8, arbitrary: fc.record({ a: value, b: value, c: value, d: value, e: value }) },
      fc.record({ a: value, c: value, b: value, d: value, e: value }),
      fc.record({ a: value, b: value, c: value, d: value, e: value, f: value }),
      fc.record({ a: value, b: fc.constant(shared), c: value, d: value, e: value }),
    );
    let n = 0;
    fc.assert(
      fc.property(fc.array(row, { minLength: 1, maxLength: 60 }), (rows) => {
        const file = join(tmp, `p${n++}.jsonl`);
        const w = new JsonlWriter(file);
        const expected: string[] = [];
        for (const r of rows) {
          w.write(r);
          expected.push(`${JSON.stringify(r)}\n`);
          // The same array object, changed after it was written, must be written anew.
          shared[0] = (shared[0] ?? 0) + 1;
        }
        w.close();
        expect(readFileSync(file, "utf8")).toBe(expected.join(""));
      }),
      { numRuns: 400 },
    );
  });

  it("a column holding the previous column's string (endpoint = path) is copied right", () => {
    const file = join(tmp, "same-column.jsonl");
    const w = new JsonlWriter(file);
    const values = ["/a/b.js", 'q"uote', "é/ü", "", "x".repeat(300), "/a/b.js"];
    const rows: Record<string, unknown>[] = [];
    for (let i = 0; i < 40; i++) {
      const v = values[i % values.length]!;
      // Every pair of neighbours: both equal, equal to the previous row's, or only one of them.
      const row = {
        id: i,
        resource: v,
        endpoint: i % 3 === 0 ? v : values[(i + 1) % values.length],
        tail: i % 2 === 0 ? v : "t",
      };
      rows.push(row);
      w.write(row);
    }
    w.close();
    expect(readFileSync(file, "utf8")).toBe(rows.map((r) => `${JSON.stringify(r)}\n`).join(""));
  });

  it("copies from the previous row only while it is still in the buffer", () => {
    // ~700-byte rows that mostly repeat: the buffer is flushed every ~1500 rows.
    const file = join(tmp, "repeat.jsonl");
    const w = new JsonlWriter(file);
    const rows: object[] = [];
    for (let i = 0; i < 20_000; i++) {
      const r = {
        flow_id: String(7576322310144000000 + (i % 7)),
        org: "00000000-0000-0000-0000-000000000000",
        t: 1795717800194588 + i * 13,
        // A 5 MiB row: the buffer grows for it and is replaced after the flush.
        path:
          i === 9000 || i === 9001
            ? "/p".repeat(5 << 19)
            : i % 5 === 0
              ? "/p".repeat(200)
              : "/static/icons/i6.svg",
        ok: i % 3 === 0,
        code: i % 11 === 0 ? 404 : 200,
        name: i % 1000 === 0 ? "\u00e9\n" : "x",
      };
      rows.push(r);
      w.write(r);
    }
    w.close();
    expect(readFileSync(file, "utf8")).toBe(rows.map((r) => `${JSON.stringify(r)}\n`).join(""));
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
    // Empty objects and arrays as rows.
    for (const r of [{}, [1, 2], { y: "s", x: 1 }]) {
      rows.push(r);
      w.write(r);
    }
    w.close();
    expect(readFileSync(file, "utf8")).toBe(rows.map((r) => `${JSON.stringify(r)}\n`).join(""));
  });

  it("files past their first MiB go through the writer thread: chunks in order, interleaved files, rows longer than a chunk", () => {
    const a = join(tmp, "sink-a.jsonl");
    const b = join(tmp, "sink-b.jsonl");
    const wa = new JsonlWriter(a);
    const wb = new JsonlWriter(b);
    const ea: string[] = [];
    const eb: string[] = [];
    // ~12 MB a file: more chunks than the sink has slots, so the writer waits for free ones.
    for (let i = 0; i < 60_000; i++) {
      const r = {
        i,
        path: `/api/items/${i % 977}`,
        host: "shop.local",
        pad: "p".repeat(150),
        ok: i % 5 === 0,
      };
      wa.write(r);
      ea.push(JSON.stringify(r));
      const q = { n: i * 7, s: i % 3 === 0 ? "é" : "x" };
      wb.write(q);
      eb.push(JSON.stringify(q));
      if (i === 30_000) {
        // A row of 3 MiB: spans several slots.
        const big = { i, path: "/big", host: "h", pad: "y".repeat(3 << 20), ok: true };
        wa.write(big);
        ea.push(JSON.stringify(big));
      }
    }
    wa.close();
    wb.close();
    expect(readFileSync(a, "utf8")).toBe(`${ea.join("\n")}\n`);
    expect(readFileSync(b, "utf8")).toBe(`${eb.join("\n")}\n`);
  });

  it("more writers than the sink has slots, each past a chunk, all come out whole", () => {
    const files = Array.from({ length: 12 }, (_, k) => join(tmp, `many-${k}.jsonl`));
    const ws = files.map((f) => new JsonlWriter(f));
    const rows = files.map((_, k) =>
      Array.from({ length: 8_000 }, (_, i) => ({ k, i, pad: "z".repeat(200) })),
    );
    for (let i = 0; i < 8_000; i++) for (let k = 0; k < ws.length; k++) ws[k]!.write(rows[k]![i]!);
    for (const w of ws) w.close();
    files.forEach((f, k) => {
      expect(readFileSync(f, "utf8")).toBe(rows[k]!.map((r) => `${JSON.stringify(r)}\n`).join(""));
    });
  });

  it("raw lines between rows (repeated values, the same shape) come out as JSON.stringify would write them", () => {
    // Rows that repeat the previous row's values (so write() copies their bytes) interleaved
    // with raw blocks of lines of the same shape, from offsets inside a larger array that the
    // caller overwrites after the call; raw blocks of 0 bytes too.
    const value = fc.constantFrom("", "127.0.0.1", "/a/b.js", 'q"u', "é", 0, 7, 1795717800194588, true, null);
    const row = fc.record({ a: value, b: value, c: value, d: value });
    const op = fc.oneof(
      { weight: 3, arbitrary: row.map((r) => ({ row: r })) },
      fc
        .record({ lines: fc.array(row, { maxLength: 4 }), pre: fc.nat(9), post: fc.nat(9) })
        .map((x) => ({ raw: x })),
    );
    let n = 0;
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 50 }), (ops) => {
        const file = join(tmp, `raw${n++}.jsonl`);
        const w = new JsonlWriter(file);
        const expected: string[] = [];
        let rows = 0;
        for (const o of ops) {
          if ("row" in o) {
            w.write(o.row);
            expected.push(`${JSON.stringify(o.row)}\n`);
            rows++;
          } else {
            const text = o.raw.lines.map((r) => `${JSON.stringify(r)}\n`).join("");
            const bytes = Buffer.from(text);
            const b = new Uint8Array(o.raw.pre + bytes.length + o.raw.post).fill(0x58);
            b.set(bytes, o.raw.pre);
            w.writeRaw(b, o.raw.pre, bytes.length, o.raw.lines.length);
            // The caller reuses its array: the writer must have copied the bytes.
            b.fill(0x5a);
            expected.push(text);
            rows += o.raw.lines.length;
          }
        }
        expect(w.rows).toBe(rows);
        w.close();
        expect(readFileSync(file, "utf8")).toBe(expected.join(""));
      }),
      { numRuns: 400 },
    );
  });

  it("raw blocks across chunk boundaries and larger than a chunk, mixed with rows, through the writer thread", () => {
    const file = join(tmp, "raw-big.jsonl");
    const w = new JsonlWriter(file);
    const expected: string[] = [];
    const row = (i: number) => ({
      flow_id: String(7576322310144000000 + (i % 3)),
      org: "00000000-0000-0000-0000-000000000000",
      path: i % 4 === 0 ? "/static/app.js" : `/api/items/${i % 97}`,
      code: 200,
    });
    const rawBlock = (from: number, count: number) => {
      let t = "";
      for (let i = from; i < from + count; i++) t += `${JSON.stringify({ ...row(i), raw: true })}\n`;
      return t;
    };
    let i = 0;
    // Sizes that end just before, at and after the 1 MiB flush point and the buffer's end, and
    // blocks of ~3 MiB and ~5 MiB (several chunks each).
    for (const count of [1, 9000, 13_000, 1, 41_000, 2, 70_000, 5, 7]) {
      for (let k = 0; k < 300; k++, i++) {
        const r = row(i);
        w.write(r);
        expected.push(`${JSON.stringify(r)}\n`);
      }
      const t = rawBlock(i, count);
      i += count;
      const b = Buffer.from(t);
      w.writeRaw(b, 0, b.length);
      expected.push(t);
    }
    // A raw block right at the start of a file (before any row set the shape).
    const w2File = join(tmp, "raw-first.jsonl");
    const w2 = new JsonlWriter(w2File);
    const first = rawBlock(0, 60_000);
    w2.writeRaw(Buffer.from(first), 0, Buffer.byteLength(first));
    const after = row(1);
    w2.write(after);
    w2.write(after);
    w2.close();
    w.close();
    const total = expected.join("");
    expect(Buffer.byteLength(total)).toBeGreaterThan(12 << 20);
    expect(readFileSync(file, "utf8")).toBe(total);
    expect(readFileSync(w2File, "utf8")).toBe(`${first}${JSON.stringify(after)}\n${JSON.stringify(after)}\n`);
  });

  it.runIf(existsSync("/dev/full"))(
    "a failed write on the writer thread is thrown by the next flush or close",
    () => {
      const w = new JsonlWriter("/dev/full");
      let err: NodeJS.ErrnoException | undefined;
      try {
        for (let i = 0; i < 40_000; i++) w.write({ i, pad: "f".repeat(100) });
      } catch (e) {
        err = e as NodeJS.ErrnoException;
      }
      try {
        w.close();
      } catch (e) {
        err ??= e as NodeJS.ErrnoException;
      }
      expect(err?.code).toBe("ENOSPC");
      expect(err?.message).toContain("/dev/full");
    },
  );
});
