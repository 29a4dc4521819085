import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClickhouse, recordRows } from "../client.ts";
import { columnDefinitions, ROW_TABLES } from "../rows/index.ts";
import { createTestClickhouse, type TestClickhouse } from "../testing.ts";
import { appRow, l4Row, l7Row, networkRow, ORG_A } from "../testing-fixtures.ts";
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
      // Up to 0009 first: 0006's backfill inserts by position into the rollups as 0006 made them,
      // so its re-run below is only meaningful before 0010 adds the tag columns.
      const up = await migrateClickhouse({ url: ch.url, database: db, ttl: "off", upTo: 9 });
      expect(up.applied).toEqual(
        loadMigrations()
          .filter((m) => m.version > 5 && m.version <= 9)
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
      await migrateClickhouse({ url: ch.url, database: db, ttl: "off", upTo: 9 });
      expect(await sums()).toMatchObject({ requests: "3", flows: "2", replaced: "0" });
    } finally {
      await old.command({ query: `DROP DATABASE IF EXISTS ${db}` });
      await old.close();
    }
  });

  it("adds the metrics tag columns to an existing database: old rows read 0, new ones keep their ids in every rollup", async () => {
    const db = `${ch.database}_pre10`;
    await migrateClickhouse({ url: ch.url, database: db, ttl: "off", upTo: 9 });
    const old = createClickhouse({ url: ch.url, database: db });
    try {
      const t = 1_764_150_000_000_000;
      // Written as a release before 0010 wrote them (recordRows now names the new columns).
      const { time: _n, ...net } = networkRow();
      const { time: _a, ...app } = appRow();
      const at = "2025-11-26 09:40:00.000000";
      await old.insert({ table: "network_metrics", values: [{ ...net, time: at }], format: "JSONEachRow" });
      await old.insert({
        table: "application_metrics",
        values: [{ ...app, time: at }],
        format: "JSONEachRow",
      });
      const up = await migrateClickhouse({ url: ch.url, database: db, ttl: "off" });
      expect(up.applied[0]).toMatch(/^10_/);
      // Same ids as the new row below, but tagged: a rollup row of its own per id (ids are keys).
      await recordRows(old, "network_metrics", ORG_A, [
        networkRow({ time: t + 1_000_000, client_resource_id: 7, server_resource_id: 9 }),
      ]);
      await recordRows(old, "application_metrics", ORG_A, [
        appRow({ time: t + 1_000_000, server_resource_id: 9 }),
      ]);
      const keyed = async () => {
        const out: Record<string, unknown> = {};
        for (const tier of ["", "_1m", "_1h"]) {
          const rs = await old.query({
            query: `SELECT (SELECT groupArray((client_resource_id, server_resource_id, b)) FROM
                      (SELECT client_resource_id, server_resource_id, sum(bytes_c2s) AS b FROM network_metrics${tier}
                       GROUP BY client_resource_id, server_resource_id ORDER BY server_resource_id)) AS net,
                    (SELECT groupArray((server_resource_id, r)) FROM
                      (SELECT server_resource_id, sum(requests) AS r FROM application_metrics${tier}
                       GROUP BY server_resource_id ORDER BY server_resource_id)) AS app`,
            format: "JSONEachRow",
          });
          out[tier || "raw"] = (await rs.json<Record<string, unknown>>())[0];
        }
        return out;
      };
      const expected = {
        net: [
          [0, 0, "1000"],
          [7, 9, "1000"],
        ],
        app: [
          [0, "4"],
          [9, "4"],
        ],
      };
      expect(await keyed()).toEqual({ raw: expected, _1m: expected, _1h: expected });
      const sortingKey = async (name: string) => {
        const rs = await old.query({
          query:
            "SELECT sorting_key FROM system.tables WHERE database = currentDatabase() AND name = {n:String}",
          query_params: { n: name },
          format: "JSONEachRow",
        });
        return (await rs.json<{ sorting_key: string }>())[0]?.sorting_key;
      };
      expect(await sortingKey("network_metrics_1h")).toMatch(
        /group_id, client_resource_id, server_resource_id$/,
      );
      expect(await sortingKey("application_metrics_1m")).toMatch(/group_id, server_resource_id$/);
      // A half-applied 0010 re-runs whole without error or change.
      await old.command({
        query: "ALTER TABLE _flowplane_migrations DELETE WHERE version = 10 SETTINGS mutations_sync = 1",
      });
      expect((await migrateClickhouse({ url: ch.url, database: db, ttl: "off" })).applied[0]).toMatch(/^10_/);
      expect(await keyed()).toEqual({ raw: expected, _1m: expected, _1h: expected });
    } finally {
      await old.command({ query: `DROP DATABASE IF EXISTS ${db}` });
      await old.close();
    }
  });
});
