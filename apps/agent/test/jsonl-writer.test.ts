import {
  closeSync,
  lstatSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { JsonlWriter } from "../src/output/jsonl-writer.ts";

const dir = mkdtempSync(join(tmpdir(), "fp-jsonl-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writeRows(path: string, rows: object[]): void {
  const w = new JsonlWriter(path);
  for (const r of rows) w.write(r);
  w.close();
}

describe("JsonlWriter's file", () => {
  it("replaces an earlier run's file instead of truncating it: a reader of the old one keeps it", () => {
    const path = join(dir, "again.jsonl");
    writeRows(path, [{ run: 1, pad: "x".repeat(5000) }]);
    const old = openSync(path, "r");
    try {
      writeRows(path, [{ run: 2 }]);
      expect(readFileSync(path, "utf8")).toBe('{"run":2}\n');
      const b = Buffer.alloc(16);
      expect(readSync(old, b, 0, 16, 0)).toBe(16);
      expect(b.toString()).toBe('{"run":1,"pad":"');
    } finally {
      closeSync(old);
    }
  });

  it("writes through a symlink, which stays one", () => {
    const target = join(dir, "target.jsonl");
    const link = join(dir, "link.jsonl");
    writeFileSync(target, "old contents\n");
    symlinkSync(target, link);
    writeRows(link, [{ via: "link" }]);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readFileSync(target, "utf8")).toBe('{"via":"link"}\n');
  });
});
