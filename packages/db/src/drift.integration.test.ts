import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkDrift, formatDifferences } from "./drift.ts";
import { createTestDatabase, type TestDatabase } from "./testing.ts";

describe("drift between prisma/schema and the migrated database", () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase("drift");
  });
  afterAll(async () => {
    await t?.drop();
  });

  it("is zero on a freshly migrated database", async () => {
    const diffs = await checkDrift(t.url);
    expect(formatDifferences(diffs)).toBe("");
  });

  it("reports every kind of alteration (so the check can fail)", async () => {
    const client = new pg.Client({ connectionString: t.url });
    await client.connect();
    try {
      await client.query(`
        ALTER TABLE agents DROP COLUMN hostname;
        ALTER TABLE agents ALTER COLUMN applied_revision TYPE bigint;
        ALTER TABLE users ALTER COLUMN name SET NOT NULL;
        ALTER TABLE agent_groups ALTER COLUMN sync_interval_s SET DEFAULT 30;
        DROP INDEX audit_logs_org_id_created_at_idx;
        DROP INDEX api_keys_token_hash_key;
        ALTER TABLE api_keys DROP CONSTRAINT api_keys_org_id_fkey;
        ALTER TYPE agent_state ADD VALUE 'zombie';
        CREATE TABLE stray (id int);`);
    } finally {
      await client.end();
    }
    const text = formatDifferences(await checkDrift(t.url));
    expect(text).toContain("column agents.hostname: missing from the database");
    expect(text).toContain("column agents.applied_revision: type is bigint, schema expects integer");
    expect(text).toContain("column users.name: is NOT NULL, schema expects nullable");
    expect(text).toContain("column agent_groups.sync_interval_s: default is 30, schema expects 10");
    expect(text).toContain("index audit_logs:index(org_id, created_at): missing from the database");
    expect(text).toContain("index api_keys:unique(token_hash): missing from the database");
    expect(text).toContain(
      "foreign_key api_keys(org_id) -> organizations(id) on delete cascade on update cascade: missing",
    );
    expect(text).toMatch(/enum agent_state: values are \(.*zombie\)/);
    expect(text).toContain("table stray: exists in the database but not in the schema");
    expect(text.split("\n")).toHaveLength(9);
  });
});
