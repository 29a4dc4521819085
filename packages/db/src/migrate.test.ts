import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { readMigrations } from "./migrate.ts";

describe("readMigrations", () => {
  let dir = "";
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  async function withFiles(files: Record<string, string>) {
    dir = await mkdtemp(join(tmpdir(), "fp-read-migrations-"));
    for (const [name, sql] of Object.entries(files)) {
      await mkdir(join(dir, name));
      await writeFile(join(dir, name, "migration.sql"), sql);
    }
    return dir;
  }

  it("orders by name, checksums the content, ignores other folders", async () => {
    const d = await withFiles({ "0002_b": "SELECT 2;", "0001_a": "SELECT 1;", notes: "x" });
    const ms = await readMigrations(d);
    expect(ms.map((m) => m.name)).toEqual(["0001_a", "0002_b"]);
    expect(ms[0]?.checksum).toMatch(/^[0-9a-f]{64}$/);
  });

  it("refuses duplicate numbers and statements that would escape the runner's transaction", async () => {
    await expect(readMigrations(await withFiles({ "0001_a": "", "0001_b": "" }))).rejects.toThrow(
      /share the number 0001/,
    );
    await rm(dir, { recursive: true });
    await expect(readMigrations(await withFiles({ "0001_a": "SELECT 1;\nCOMMIT;\n" }))).rejects.toThrow(
      /COMMIT/,
    );
    await rm(dir, { recursive: true });
    await expect(
      readMigrations(await withFiles({ "0001_a": "CREATE INDEX CONCURRENTLY i ON t(x);" })),
    ).rejects.toThrow(/CONCURRENTLY/);
  });
});
