import { appendFile, cp, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { actualShape } from "./drift.ts";
import { MIGRATIONS_DIR, MIGRATIONS_TABLE, migrate, readMigrations } from "./migrate.ts";
import { createTestDatabase, type TestDatabase } from "./testing.ts";

/** Everything observable about the database: catalog (incl. index definitions) and the bookkeeping table. */
async function snapshot(url: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const shape = await actualShape(client);
    const indexes = await client.query(
      "SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1, 2",
    );
    const constraints = await client.query(
      `SELECT conrelid::regclass::text AS t, conname, pg_get_constraintdef(oid) AS def
         FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2`,
    );
    const tables = await client.query(
      "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace ORDER BY 1",
    );
    const applied = await client.query(
      `SELECT name, checksum, applied_at FROM "${MIGRATIONS_TABLE}" ORDER BY name`,
    );
    return {
      tables: [...shape.tables].map(([t, cols]) => [t, [...cols]]),
      enums: [...shape.enums],
      relations: tables.rows,
      indexes: indexes.rows,
      constraints: constraints.rows,
      applied: applied.rows,
    };
  } finally {
    await client.end();
  }
}

async function tempMigrations(extra: Record<string, string> = {}) {
  const dir = await mkdtemp(join(tmpdir(), "fp-migrations-"));
  await cp(MIGRATIONS_DIR, dir, { recursive: true });
  for (const [name, sql] of Object.entries(extra)) {
    await mkdir(join(dir, name));
    await writeFile(join(dir, name, "migration.sql"), sql);
  }
  return dir;
}

describe("migration runner", () => {
  let t: TestDatabase;
  const dirs: string[] = [];
  beforeAll(async () => {
    t = await createTestDatabase("migrate", { migrate: false });
  });
  afterAll(async () => {
    await t?.drop();
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it("applies every committed migration once, logging progress; a second run changes nothing", async () => {
    const lines: string[] = [];
    const first = await migrate(t.url, { log: (l) => lines.push(l) });
    const names = (await readMigrations()).map((m) => m.name);
    expect(first.applied).toEqual(names);
    expect(lines).toContainEqual(expect.stringMatching(/^applying 0001_init \.\.\. done in \d+ ms$/));

    const before = await snapshot(t.url);
    const second = await migrate(t.url);
    expect(second).toEqual({ applied: [], skipped: names });
    expect(await snapshot(t.url)).toEqual(before);
  });

  it("rolls a failing migration back completely and names its file", async () => {
    const dir = await tempMigrations({
      "9001_half_done": `
        CREATE TABLE widgets (id int PRIMARY KEY);
        ALTER TABLE agents ADD COLUMN oops int;
        CREATE INDEX agents_oops_idx ON agents(oops);
        INSERT INTO organizations (name, slug, updated_at) VALUES ('x', 'x', now());
        SELECT 1 / 0;`,
    });
    dirs.push(dir);
    const before = await snapshot(t.url);
    const err = await migrate(t.url, { dir }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain("9001_half_done");
    expect((err as Error).message).toContain(join(dir, "9001_half_done", "migration.sql"));
    expect((err as Error).message).toMatch(/division by zero/);
    expect(await snapshot(t.url)).toEqual(before);
    const orgs = await t.db.unsafe.organization.count();
    expect(orgs).toBe(0);
  });

  it("applies a good migration after earlier ones, each in its own transaction", async () => {
    const dir = await tempMigrations({
      "9002_good": "CREATE TABLE scratch_good (id int);",
      "9003_bad": "CREATE TABLE scratch_bad (id int); SELECT nope;",
    });
    dirs.push(dir);
    await expect(migrate(t.url, { dir })).rejects.toThrow(/9003_bad/);
    const applied = (await snapshot(t.url)).applied.map((r) => r.name);
    expect(applied).toContain("9002_good");
    expect(applied).not.toContain("9003_bad");
    const relations = (await snapshot(t.url)).relations.map((r) => r.relname);
    expect(relations).toContain("scratch_good");
    expect(relations).not.toContain("scratch_bad");
  });

  it("refuses to run when an applied migration was edited", async () => {
    const dir = await tempMigrations();
    dirs.push(dir);
    await appendFile(join(dir, "0001_init", "migration.sql"), "\n-- an innocent edit\n");
    const before = await snapshot(t.url);
    await expect(migrate(t.url, { dir })).rejects.toThrow(/0001_init was already applied but .*has changed/);
    expect(await snapshot(t.url)).toEqual(before);
  });

  it("serialises concurrent runs with an advisory lock", async () => {
    const fresh = await createTestDatabase("migrate_lock", { migrate: false });
    try {
      const results = await Promise.all([migrate(fresh.url), migrate(fresh.url), migrate(fresh.url)]);
      const appliedCounts = results.map((r) => r.applied.length).sort();
      expect(appliedCounts).toEqual([0, 0, (await readMigrations()).length]);
    } finally {
      await fresh.drop();
    }
  });
});

describe("ensureDatabase", () => {
  it("creates a missing database once", async () => {
    const { dbEnv } = await import("./env.ts");
    const { ensureDatabase, quoteIdent } = await import("./migrate.ts");
    const { testDatabaseName, withDatabase } = await import("./testing.ts");
    const serverUrl = dbEnv().FLOWPLANE_TEST_PG_URL;
    const name = testDatabaseName("ensure");
    try {
      expect(await ensureDatabase(withDatabase(serverUrl, name))).toBe(true);
      expect(await ensureDatabase(withDatabase(serverUrl, name))).toBe(false);
    } finally {
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)}`);
      await c.end();
    }
  });
});
