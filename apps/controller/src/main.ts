import { createClient } from "@clickhouse/client";
import { loadEnvOrExit } from "@flowplane/core/env";
import { createLogger } from "@flowplane/core/log";
import { Redis } from "ioredis";
import pg from "pg";
import { ZControllerEnv } from "./env.ts";
import { buildControllerServer } from "./http/server.ts";

const env = loadEnvOrExit(ZControllerEnv);
const log = createLogger("controller");

// Health probes use plain drivers so /healthz reports the dependency itself, not an ORM layer.
const pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: 2 });
pool.on("error", (err) => log.warn({ err }, "postgres pool error"));
const redis = new Redis(env.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false });
redis.on("error", (err) => log.debug({ err: err.message }, "redis connection error"));
const clickhouse = createClient({ url: env.CLICKHOUSE_URL, database: env.CLICKHOUSE_DATABASE });

const app = buildControllerServer({
  log,
  probes: {
    postgres: () => pool.query("SELECT 1"),
    redis: async () => {
      if (redis.status === "wait" || redis.status === "end") await redis.connect();
      return redis.ping();
    },
    clickhouse: async () => {
      const r = await clickhouse.ping();
      if (!r.success) throw r.error;
    },
  },
});

let stopping = false;
async function stop(signal: string) {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, "controller stopping");
  await app.close();
  await Promise.allSettled([pool.end(), clickhouse.close(), redis.quit()]);
  process.exit(0);
}
process.on("SIGINT", () => void stop("SIGINT"));
process.on("SIGTERM", () => void stop("SIGTERM"));

await app.listen({ host: env.CONTROLLER_HOST, port: env.CONTROLLER_PORT });
log.info({ url: `http://${env.CONTROLLER_HOST}:${env.CONTROLLER_PORT}` }, "controller listening");
