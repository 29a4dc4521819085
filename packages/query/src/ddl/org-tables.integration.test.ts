import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestClickhouse, type TestClickhouse } from "../testing.ts";
import { ORG_A, ORG_B } from "../testing-fixtures.ts";
import { loadMigrations } from "./migrate.ts";
import { deleteOrgRows, orgTables } from "./org-tables.ts";

// Tables of the DDL that hold no organization's rows. A new one must be named here on purpose;
// any other table must carry org_id, and then orgTables() (what the org purge deletes from) has it.
const GLOBAL_TABLES = ["_flowplane_migrations"];

let ch: TestClickhouse;
beforeAll(async () => {
  ch = await createTestClickhouse("org_tables");
});
afterAll(async () => {
  await ch?.drop();
});

async function rows<T>(query: string, params: Record<string, unknown> = {}): Promise<T[]> {
  return (await ch.client.query({ query, query_params: params, format: "JSONEachRow" })).json<T>();
}

describe("orgTables", () => {
  it("names exactly the migrated tables with an org_id column, and every other table is known global", async () => {
    const stored = await rows<{ name: string; org: number }>(
      `SELECT t.name AS name, countIf(c.name = 'org_id') AS org
       FROM system.tables t LEFT JOIN system.columns c ON c.database = t.database AND c.table = t.name
       WHERE t.database = currentDatabase() AND t.engine NOT IN ('MaterializedView', 'View')
       GROUP BY t.name ORDER BY t.name`,
    );
    const withOrg = stored.filter((t) => Number(t.org) > 0).map((t) => t.name);
    expect(orgTables()).toEqual(withOrg);
    expect(stored.filter((t) => Number(t.org) === 0).map((t) => t.name)).toEqual(GLOBAL_TABLES);
    expect(withOrg.length).toBeGreaterThanOrEqual(14);
  });

  it("follows CREATE TABLE … AS and DROP TABLE through the migrations", () => {
    const m = (statements: string[]) => ({ version: 1, name: "x", checksum: "", statements });
    expect(
      orgTables([
        m([
          "CREATE TABLE IF NOT EXISTS a\n(\n    org_id UUID,\n    n AggregateFunction(sum, UInt64)\n)\nENGINE = MergeTree ORDER BY org_id",
        ]),
        m(["CREATE TABLE b AS a", "CREATE TABLE g (x UInt8) ENGINE = Memory", "CREATE TABLE c AS g"]),
        m(["DROP TABLE IF EXISTS a"]),
      ]),
    ).toEqual(["b"]);
    expect(loadMigrations().length).toBeGreaterThan(0);
  });
});

describe("deleteOrgRows", () => {
  it("removes one org's rows from a table and leaves the other org's", async () => {
    for (const org of [ORG_A, ORG_B])
      await ch.client.command({
        query:
          "INSERT INTO tag_dict (org_id, tag_kind, id, name) SELECT {org:UUID}, 'host', number, 'h' FROM numbers(5)",
        query_params: { org },
      });
    const progress: string[] = [];
    const removed = await deleteOrgRows(ch.client, ORG_A, {
      tables: ["tag_dict"],
      pollMs: 50,
      onProgress: (p) => progress.push(p.step),
    });
    expect(removed).toEqual({ tag_dict: 5 });
    expect(progress[0]).toBe("table");
    const left = await rows<{ org_id: string; n: string }>(
      "SELECT org_id, count() AS n FROM tag_dict GROUP BY org_id ORDER BY org_id",
    );
    expect(left).toEqual([{ org_id: ORG_B, n: "5" }]);
  });
});
