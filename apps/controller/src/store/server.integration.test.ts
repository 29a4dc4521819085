import { spawn } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  type ClickHouseClient,
  ClickHouseError,
  ClickHouseLogLevel,
  createClient as createClientLoud,
} from "@clickhouse/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningStore, startStore } from "./server.ts";

// The store is exercised only through @clickhouse/client, as every other process uses it.
// Errors are asserted on, so the client's own error logging is noise here.
const createClient: typeof createClientLoud = (cfg = {}) =>
  createClientLoud({ ...cfg, log: { level: ClickHouseLogLevel.OFF } });
let dataDir: string;
let store: RunningStore;
let client: ClickHouseClient;

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), "fp-store-test-"));
  store = await startStore({ dataDir, maxBodyBytes: 4 * 1024 * 1024, maxQueued: 1 });
  client = createClient({ url: store.url, compression: { request: true, response: true } });
});

afterAll(async () => {
  await client?.close();
  await store?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe("store HTTP interface", () => {
  it("answers ping", async () => {
    expect((await client.ping()).success).toBe(true);
    const res = await fetch(`${store.url}/ping`);
    expect(await res.text()).toBe("Ok.\n");
    expect(await (await fetch(`${store.url}/`)).text()).toBe("Ok.\n");
  });

  it("binds parameters of every kind without splicing", async () => {
    const evil = "x' OR 1=1 -- \\' \\\\ \t\n'); DROP TABLE t; --";
    const rs = await client.query({
      query: `SELECT {s:String} AS s, {ip:IPv6} AS ip, {ip4:IPv6} AS ip4, {u:UUID} AS u,
                     {t:DateTime64(6)} AS t, {a:Array(String)} AS a, {n:UInt64} AS n`,
      query_params: {
        s: evil,
        ip: "2001:db8::1",
        ip4: "10.1.2.3",
        u: "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
        t: "2026-01-02 03:04:05.123456",
        a: ["it's", "back\\slash"],
        n: "18446744073709551615",
      },
      format: "JSONEachRow",
    });
    const [row] = await rs.json<Record<string, unknown>>();
    expect(row).toEqual({
      s: evil,
      ip: "2001:db8::1",
      ip4: "::ffff:10.1.2.3",
      u: "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
      t: "2026-01-02 03:04:05.123456",
      a: ["it's", "back\\slash"],
      n: "18446744073709551615",
    });
  });

  it("creates, inserts (gzip body) and reads back in a named database", async () => {
    await client.command({ query: "CREATE DATABASE IF NOT EXISTS store_t" });
    const db = createClient({ url: store.url, database: "store_t", compression: { request: true } });
    try {
      await db.command({
        query: "CREATE TABLE IF NOT EXISTS kv (k UInt32, v String) ENGINE = MergeTree ORDER BY k",
      });
      const values = Array.from({ length: 1000 }, (_, k) => ({ k, v: `v${k}` }));
      const res = await db.insert({ table: "kv", values, format: "JSONEachRow" });
      expect(res.summary?.written_rows).toBe("1000");
      const rs = await db.query({ query: "SELECT count() AS c, max(k) AS m FROM kv", format: "JSONEachRow" });
      expect(await rs.json()).toEqual([{ c: "1000", m: 999 }]);
    } finally {
      await db.close();
    }
  });

  it("takes an insert's data in a binary format (NUL bytes included) and leaves no payload in the spool", async () => {
    await client.command({
      query: "CREATE TABLE IF NOT EXISTS rb (k UInt32, v String) ENGINE = MergeTree ORDER BY k",
    });
    // RowBinary: UInt32 little-endian, then a LEB128 length and the bytes.
    const row = (k: number, v: Buffer) => {
      const b = Buffer.alloc(5);
      b.writeUInt32LE(k, 0);
      b[4] = v.length;
      return Buffer.concat([b, v]);
    };
    const body = Buffer.concat([
      row(0, Buffer.from("a\0b")),
      row(1, Buffer.from([0, 0])),
      row(2, Buffer.from("c")),
    ]);
    const res = await fetch(
      `${store.url}/?query=${encodeURIComponent("INSERT INTO rb (k, v) FORMAT RowBinary")}`,
      {
        method: "POST",
        body,
      },
    );
    expect(res.status).toBe(200);
    expect(JSON.parse(res.headers.get("x-clickhouse-summary") ?? "{}").written_rows).toBe("3");
    const rs = await client.query({
      query: "SELECT k, hex(v) AS h FROM rb ORDER BY k",
      format: "JSONEachRow",
    });
    expect(await rs.json()).toEqual([
      { k: 0, h: "610062" },
      { k: 1, h: "0000" },
      { k: 2, h: "63" },
    ]);
    // One spool file, reused by every insert and emptied after each.
    const spool = readdirSync(path.join(dataDir, "insert-spool"));
    expect(spool.length).toBeLessThanOrEqual(1);
    for (const f of spool) expect(statSync(path.join(dataDir, "insert-spool", f)).size).toBe(0);
  });

  it("surfaces engine errors with their ClickHouse code", async () => {
    const err = await client.query({ query: "SELECT * FROM no_such_table" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClickHouseError);
    expect((err as ClickHouseError).code).toBe("60");
    expect((err as ClickHouseError).type).toBe("UNKNOWN_TABLE");
    const syntax = await client.query({ query: "SELEC 1" }).catch((e: unknown) => e);
    expect((syntax as ClickHouseError).code).toBe("62");
  });

  it("passes settings through and ignores transport ones and unknown ones", async () => {
    const err = await client
      .query({
        query: "SELECT count() FROM numbers(100000)",
        clickhouse_settings: { max_rows_to_read: "1000", wait_end_of_query: 1 },
      })
      .catch((e: unknown) => e);
    expect((err as ClickHouseError).code).toBe("158");
    // A setting of some other server version is dropped, not an error.
    const unknown = await fetch(`${store.url}/?query=SELECT+1&no_such_setting_anywhere=1`);
    expect(await unknown.text()).toBe("1\n");
    const ro = await client
      .command({
        query: "CREATE TABLE ro_t (a UInt8) ENGINE = Memory",
        clickhouse_settings: { readonly: "2" },
      })
      .catch((e: unknown) => e);
    expect((ro as ClickHouseError).code).toBe("164");
    // Settings of one request never leak into the next.
    const rs = await client.query({ query: "SELECT getSetting('readonly') AS r", format: "JSONEachRow" });
    expect(await rs.json()).toEqual([{ r: 0 }]);
  });

  it("refuses an oversized body with a clear error", async () => {
    await client.command({
      query: "CREATE TABLE IF NOT EXISTS big (s String) ENGINE = MergeTree ORDER BY s",
    });
    const values = Array.from({ length: 3000 }, () => ({ s: "x".repeat(2000) }));
    const err = await client.insert({ table: "big", values, format: "JSONEachRow" }).catch((e: unknown) => e);
    expect(String((err as Error).message)).toMatch(/larger than the store's limit/);
  });

  it("refuses work beyond the queue bound like a busy server", async () => {
    const slow = client.query({ query: "SELECT sleep(1)", format: "JSONEachRow" });
    await new Promise((r) => setTimeout(r, 200));
    const err = await client.query({ query: "SELECT 1" }).catch((e: unknown) => e);
    expect((err as ClickHouseError).code).toBe("202");
    await (await slow).json();
  });

  it("keeps data across a restart on the same directory", async () => {
    await client.command({
      query: "CREATE TABLE IF NOT EXISTS keep (a UInt32) ENGINE = MergeTree ORDER BY a",
    });
    await client.command({ query: "INSERT INTO keep VALUES (1), (2), (3)" });
    await client.close();
    await store.close();
    expect(readdirSync(path.join(dataDir, "insert-spool"))).toEqual([]);
    store = await startStore({ dataDir, maxBodyBytes: 4 * 1024 * 1024, maxQueued: 1 });
    client = createClient({ url: store.url, compression: { request: true, response: true } });
    const rs = await client.query({ query: "SELECT count() AS n FROM keep", format: "JSONEachRow" });
    expect(await rs.json()).toEqual([{ n: "3" }]);
  });

  it("a second store process on the same data directory fails with one clear line", async () => {
    const main = path.join(path.dirname(fileURLToPath(import.meta.url)), "main.ts");
    const child = spawn(process.execPath, ["--import", "tsx", main, "--data-dir", dataDir, "--port", "0"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(code).toBe(1);
    expect(stderr.trim().split("\n")).toHaveLength(1);
    expect(stderr).toMatch(/already used by process \d+ \(chDB allows one process per directory\)/);
  });

  it("starts over a stale status file whose PID now belongs to another process", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "fp-store-stale-"));
    try {
      const data = path.join(dir, "data");
      mkdirSync(data);
      // As left by a store killed an hour ago, its PID since reused by this (younger) process.
      const status = path.join(data, "status");
      writeFileSync(status, `PID: ${process.pid}\nStarted at: 2026-01-01 00:00:00\nRevision: 1\n`);
      const hourAgo = new Date(Date.now() - 3_600_000);
      utimesSync(status, hourAgo, hourAgo);
      const ready = path.join(dir, "ready.json");
      const main = path.join(path.dirname(fileURLToPath(import.meta.url)), "main.ts");
      const child = spawn(
        process.execPath,
        ["--import", "tsx", main, "--data-dir", data, "--port", "0", "--ready-file", ready],
        { stdio: "ignore" },
      );
      const deadline = Date.now() + 30_000;
      while (!existsSync(ready) && child.exitCode === null && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
      expect(JSON.parse(readFileSync(ready, "utf8")).url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
