import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClickhouse, recordRows } from "../client.ts";
import { columnDefinitions, ROW_TABLES } from "../rows/index.ts";
import { createTestClickhouse, type TestClickhouse } from "../testing.ts";
import { l4Row, l7Row, ORG_A } from "../testing-fixtures.ts";
import { loadMigrations, migrateClickhouse } from "./migrate.ts";
import { ttlDaysOf } from "./ttl.ts";

let ch: TestClickhouse;
beforeAll(async () => {
  ch = await createTestClickhouse("ddl");
});
afterAll(async () => {
  await ch?.drop();
});

async function tableDefinitions(): Promise<Record<string, unknown>[]> {
  const rs = await ch.client.query({
    query: `SELECT name, engine_full, create_table_query FROM system.tables
            WHERE database = {db:String} ORDER BY name`,
    query_params: { db: ch.database },
    format: "JSONEachRow",
  });
  return rs.json();
}

describe("ClickHouse DDL", () => {
  it("applies twice without change", async () => {
    const before = await tableDefinitions();
    expect(before.map((t) => t.name)).toEqual(
      expect.arrayContaining([
        "l4_flow_log",
        "network_metrics_1m",
        "application_metrics_1m_mv",
        "tag_dict",
        "_flowplane_migrations",
      ]),
    );
    const again = await migrateClickhouse({ url: ch.url, database: ch.database, ttl: "off" });
    expect(again).toEqual({ applied: [], ttlChanged: [] });
    expect(await tableDefinitions()).toEqual(before);
    const rs = await ch.client.query({
      query: "SELECT count() AS n FROM _flowplane_migrations",
      format: "JSONEachRow",
    });
    expect(await rs.json()).toEqual([{ n: String(loadMigrations().length) }]);
  });

  it("matches the row definitions column for column", async () => {
    for (const table of Object.values(ROW_TABLES)) {
      const rs = await ch.client.query({
        query: `SELECT name, type, default_expression FROM system.columns
                WHERE database = {db:String} AND table = {t:String} ORDER BY position`,
        query_params: { db: ch.database, t: table.name },
        format: "JSONEachRow",
      });
      const actual = (await rs.json<{ name: string; type: string; default_expression: string }>()).map(
        (c) => ({
          name: c.name,
          type: c.type,
          hasDefault: c.default_expression !== "",
        }),
      );
      const expected = columnDefinitions(table).map((c) => ({
        name: c.name,
        type: c.type,
        hasDefault: c.ddlDefault !== undefined,
      }));
      expect(actual, table.name).toEqual(expected);
    }
  });

  it("orders every telemetry table by org_id first", async () => {
    const rs = await ch.client.query({
      query: `SELECT name, sorting_key FROM system.tables WHERE database = {db:String}
              AND engine LIKE '%MergeTree' AND name NOT LIKE '\\_%'`,
      query_params: { db: ch.database },
      format: "JSONEachRow",
    });
    const tables = await rs.json<{ name: string; sorting_key: string }>();
    expect(tables.length).toBe(14); // + resource_tags (0004), agent_health (0005), four hourly rollups (0006), npb_policy_counters (0007)
    for (const t of tables) expect(t.sorting_key, t.name).toMatch(/^org_id,/);
  });

  it("changes TTL when the configuration changes, and turns it off with 0", async () => {
    const on = await migrateClickhouse({
      url: ch.url,
      database: ch.database,
      ttl: { ttlDays: { l4_flow_log: 3, network_metrics_1m: 30 } },
    });
    expect(on.ttlChanged).toEqual(expect.arrayContaining([{ table: "l4_flow_log", from: 0, to: 3 }]));
    const engine = async (name: string) =>
      ((await tableDefinitions()).find((t) => t.name === name)?.engine_full as string) ?? "";
    expect(ttlDaysOf(await engine("l4_flow_log"))).toBe(3);
    expect(ttlDaysOf(await engine("network_metrics_1m"))).toBe(30);
    const same = await migrateClickhouse({
      url: ch.url,
      database: ch.database,
      ttl: { ttlDays: { l4_flow_log: 3, network_metrics_1m: 30 } },
    });
    expect(same.ttlChanged).toEqual([]);
    const off = await migrateClickhouse({ url: ch.url, database: ch.database, ttl: "off" });
    expect(off.ttlChanged.length).toBeGreaterThan(0);
    expect(ttlDaysOf(await engine("l4_flow_log"))).toBe(0);
  });

  it("expires old rows under a TTL and keeps them with TTL off", async () => {
    const old = Date.now() * 1000 - 10 * 86_400_000_000;
    const fresh = Date.now() * 1000;
    await recordRows(ch.client, "l4_flow_log", ORG_A, [
      l4Row({ flow_id: "501", start_time: old, end_time: old }),
      l4Row({ flow_id: "502", start_time: fresh, end_time: fresh }),
    ]);
    const ids = async () => {
      const rs = await ch.client.query({
        query: "SELECT flow_id FROM l4_flow_log WHERE flow_id IN (501, 502) ORDER BY flow_id",
        format: "JSONEachRow",
      });
      return (await rs.json<{ flow_id: string }>()).map((r) => r.flow_id);
    };
    expect(await ids()).toEqual(["501", "502"]);
    await migrateClickhouse({ url: ch.url, database: ch.database, ttl: { ttlDays: { l4_flow_log: 3 } } });
    await ch.client.command({ query: "OPTIMIZE TABLE l4_flow_log FINAL" });
    expect(await ids()).toEqual(["502"]);
    await migrateClickhouse({ url: ch.url, database: ch.database, ttl: "off" });
  });

  it("fills the hourly rollups of an existing database from its raw rows, once, then by their views", async () => {
    const db = `${ch.database}_old`;
    // A database as release 0005 left it, with rows already stored.
    await migrateClickhouse({ url: ch.url, database: db, ttl: "off", upTo: 5 });
    const old = createClickhouse({ url: ch.url, database: db });
    try {
      const t = 1_764_150_000_000_000;
      await recordRows(old, "l4_flow_log", ORG_A, [
        l4Row({ flow_id: "1", end_time: t, start_time: t - 1000 }),
        l4Row({ flow_id: "2", end_time: t + 1000, start_time: t }),
        l4Row({ flow_id: "2", report_seq: 1, end_time: t + 2000, start_time: t }),
      ]);
      await recordRows(old, "l7_flow_log", ORG_A, [
        l7Row({ response_duration_us: 1500 }),
        l7Row({ response_duration_us: 30_000, response_status: "server_error", response_code: 500 }),
      ]);
      const sums = async () => {
        const rs = await old.query({
          query: `SELECT (SELECT sum(bytes) FROM l4_edge_1h) AS bytes, (SELECT sum(flows) FROM l4_edge_1h) AS flows,
                    (SELECT sum(reports) FROM l4_edge_1h) AS reports, (SELECT sum(requests) FROM l7_edge_lat_1h) AS requests,
                    (SELECT sum(errors) FROM l7_edge_lat_1h) AS errors,
                    (SELECT [${Array.from({ length: 14 }, (_, i) => `sum(lat_b${i})`).join(", ")}] FROM l7_edge_lat_1h) AS buckets,
                    (SELECT count() FROM system.tables WHERE database = currentDatabase() AND name LIKE 'l7_edge_1h%') AS replaced`,
          format: "JSONEachRow",
        });
        return (await rs.json<Record<string, unknown>>())[0];
      };
      const up = await migrateClickhouse({ url: ch.url, database: db, ttl: "off" });
      expect(up.applied).toEqual(
        loadMigrations()
          .filter((m) => m.version > 5)
          .map((m) => `${m.version}_${m.name}`),
      );
      const buckets = ["0", "1", "0", "0", "0", "1", "0", "0", "0", "0", "0", "0", "0", "0"];
      expect(await sums()).toEqual({
        bytes: String(3 * 65_200),
        flows: "2",
        reports: "3",
        requests: "2",
        errors: "1",
        buckets,
        replaced: "0",
      });
      // Rows written after the migration reach the rollup through its view.
      await recordRows(old, "l7_flow_log", ORG_A, [l7Row({ response_duration_us: 20_000_000 })]);
      expect((await sums())?.requests).toBe("3");
      // A re-run migration (half-applied before) refills instead of adding: simulate by forgetting it
      // (0009 too: it replaces 0006's l7_edge_1h by l7_edge_lat_1h, and must survive a re-run).
      await old.command({
        query: "ALTER TABLE _flowplane_migrations DELETE WHERE version IN (6, 9) SETTINGS mutations_sync = 1",
      });
      await migrateClickhouse({ url: ch.url, database: db, ttl: "off" });
      expect(await sums()).toMatchObject({ requests: "3", flows: "2", replaced: "0" });
    } finally {
      await old.command({ query: `DROP DATABASE IF EXISTS ${db}` });
      await old.close();
    }
  });
});
