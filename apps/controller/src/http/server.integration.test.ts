import { createClient } from "@clickhouse/client";
import { createLogger } from "@flowplane/core/log";
import { Redis } from "ioredis";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { buildControllerServer } from "./server.ts";

const pgUrl = process.env.FLOWPLANE_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const clickhouseUrl = process.env.CLICKHOUSE_URL;

describe("controller /healthz and /metrics", () => {
  if (!clickhouseUrl)
    throw new Error("CLICKHOUSE_URL is not set: run the tests with `npm test` from the repo root");
  const pool = new pg.Pool({ connectionString: pgUrl, max: 1 });
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  const clickhouse = createClient({ url: clickhouseUrl });
  const log = createLogger("controller-test");
  const probes = {
    postgres: () => pool.query("SELECT 1"),
    redis: () => redis.ping(),
    clickhouse: async () => {
      const r = await clickhouse.ping();
      if (!r.success) throw r.error;
    },
  };
  afterAll(async () => {
    await Promise.allSettled([pool.end(), redis.quit(), clickhouse.close()]);
  });

  it("answers 200 with every real dependency up", async () => {
    const app = buildControllerServer({ log, probes });
    const res = await app.inject({ method: "GET", url: "/healthz" });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.status).toBe("ok");
    expect(Object.keys(body.checks).sort()).toEqual(["clickhouse", "postgres", "redis"]);
    await app.close();
  });

  it("answers 503 and names the dependency that is down", async () => {
    const dead = createClient({ url: "http://127.0.0.1:9", request_timeout: 500 });
    const app = buildControllerServer({
      log,
      probes: {
        ...probes,
        clickhouse: async () => {
          const r = await dead.ping();
          if (!r.success) throw r.error;
        },
      },
    });
    const res = await app.inject({ method: "GET", url: "/healthz" });
    expect(res.statusCode).toBe(503);
    const body = res.json();
    expect(body.checks.clickhouse.ok).toBe(false);
    expect(body.checks.postgres.ok).toBe(true);
    await app.close();
    await dead.close();
  });

  it("serves Prometheus self metrics", async () => {
    const app = buildControllerServer({ log, probes });
    await app.inject({ method: "GET", url: "/healthz" });
    const res = await app.inject({ method: "GET", url: "/metrics" });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toMatch(/text\/plain/);
    expect(res.body).toMatch(/flowplane_controller_http_requests_total\{.*route="\/healthz".*\} 1/);
    expect(res.body).toMatch(/# TYPE flowplane_controller_process_cpu_seconds_total counter/);
    await app.close();
  });
});
