import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChdbEngine, type EngineRequest } from "./engine.ts";

const req = (sql: string, more: Partial<EngineRequest> = {}): EngineRequest => ({
  setStatements: [],
  database: undefined,
  sql,
  format: "TabSeparated",
  params: {},
  ...more,
});
const text = (body: Uint8Array) => Buffer.from(body).toString("utf8").trim();

describe("ChdbEngine lanes", () => {
  let dir: string;
  let engine: ChdbEngine;

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), "fp-engine-lanes-"));
    engine = new ChdbEngine(path.join(dir, "data"), { concurrency: 2 });
  });

  afterAll(async () => {
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("runs two requests at once", async () => {
    const t0 = performance.now();
    await Promise.all([engine.run(req("SELECT sleep(0.6)")), engine.run(req("SELECT sleep(0.6)"))]);
    expect(performance.now() - t0).toBeLessThan(1100);
  });

  it("keeps each running request's settings to itself", async () => {
    await engine.run(req("CREATE TABLE lanes_t (a UInt32) ENGINE = MergeTree ORDER BY a"));
    // A read-only query holds one lane while inserts and DDL run on the other.
    const ro = engine.run(
      req("SELECT sleep(0.5), getSetting('readonly')", { setStatements: ["SET readonly = 2"] }),
    );
    await new Promise((r) => setTimeout(r, 100));
    await engine.run(
      req("INSERT INTO lanes_t FORMAT TabSeparated", { insertPayload: Buffer.from("1\n2\n3\n") }),
    );
    await engine.run(req("CREATE TABLE lanes_u (a UInt8) ENGINE = Memory"));
    expect(text((await ro).body)).toBe("0\t2");
    expect(text((await engine.run(req("SELECT getSetting('readonly')"))).body)).toBe("0");
  });

  it("stores every row of inserts running side by side", async () => {
    await engine.run(req("CREATE TABLE lanes_n (a UInt32) ENGINE = MergeTree ORDER BY a"));
    const payload = (from: number) =>
      Buffer.from(Array.from({ length: 20_000 }, (_, i) => `${from + i}\n`).join(""));
    await Promise.all(
      Array.from({ length: 8 }, (_, k) =>
        engine.run(req("INSERT INTO lanes_n FORMAT TabSeparated", { insertPayload: payload(k * 20_000) })),
      ),
    );
    const r = await engine.run(req("SELECT count(), uniqExact(a) FROM lanes_n"));
    expect(text(r.body)).toBe("160000\t160000");
  });

  it("leaves no spool file behind once closed", async () => {
    await engine.run(req("CREATE TABLE lanes_s (a UInt8) ENGINE = MergeTree ORDER BY a"));
    await Promise.all(
      [1, 2, 3].map((a) =>
        engine.run(req("INSERT INTO lanes_s FORMAT TabSeparated", { insertPayload: Buffer.from(`${a}\n`) })),
      ),
    );
    await engine.close();
    expect(readdirSync(path.join(dir, "data", "insert-spool"))).toEqual([]);
  });
});
