import { readFileSync } from "node:fs";
import { loadEnvOrExit } from "@flowplane/core/env";
import { createLogger } from "@flowplane/core/log";
import { getDb } from "@flowplane/db/client";
import { SecretsKey } from "@flowplane/db/clouds";
import { createClickhouse } from "@flowplane/query/client";
import { Redis } from "ioredis";
import pg from "pg";
import { createAgentRuntime } from "./agents/wiring.ts";
import { ZControllerEnv } from "./env.ts";
import { buildControllerServer } from "./http/server.ts";
import { startOrgPurgeJobs } from "./jobs/org-purge-jobs.ts";

const env = loadEnvOrExit(ZControllerEnv);
const log = createLogger("controller");

// Health probes use plain drivers so /healthz reports the dependency itself, not an ORM layer.
const pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: 2 });
pool.on("error", (err) => log.warn({ err }, "postgres pool error"));
const redis = new Redis(env.REDIS_URL, {
  lazyConnect: true,
  maxRetriesPerRequest: 1,
  enableOfflineQueue: false,
});
redis.on("error", (err) => log.debug({ err: err.message }, "redis connection error"));
const clickhouse = createClickhouse({ url: env.CLICKHOUSE_URL, database: env.CLICKHOUSE_DATABASE });
const runtime = await createAgentRuntime({
  databaseUrl: env.DATABASE_URL,
  redisUrl: env.REDIS_URL,
  clickhouse,
  log,
  archiveAfterS: env.AGENT_ARCHIVE_AFTER_S,
  ...(env.FLOWPLANE_SECRETS_KEY ? { secretsKey: SecretsKey.fromBase64(env.FLOWPLANE_SECRETS_KEY) } : {}),
});
// Deleted organizations are purged (Postgres and ClickHouse) once their grace period is over.
const jobsRedis = new Redis(env.REDIS_URL, { maxRetriesPerRequest: null });
jobsRedis.on("error", (err) => log.warn({ err: err.message }, "org purge redis error"));
const orgPurge = await startOrgPurgeJobs({
  db: getDb(env.DATABASE_URL),
  clickhouse,
  connection: jobsRedis,
  log,
});
const tls =
  env.CONTROLLER_TLS_KEY && env.CONTROLLER_TLS_CERT
    ? { key: readFileSync(env.CONTROLLER_TLS_KEY), cert: readFileSync(env.CONTROLLER_TLS_CERT) }
    : undefined;

const app = buildControllerServer({
  log,
  agentApi: runtime.agentApi,
  ...(tls ? { tls } : {}),
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
  await orgPurge.close();
  await Promise.allSettled([runtime.close(), pool.end(), clickhouse.close(), redis.quit(), jobsRedis.quit()]);
  process.exit(0);
}
process.on("SIGINT", () => void stop("SIGINT"));
process.on("SIGTERM", () => void stop("SIGTERM"));

await app.listen({ host: env.CONTROLLER_HOST, port: env.CONTROLLER_PORT });
log.info(
  { url: `${tls ? "https" : "http"}://${env.CONTROLLER_HOST}:${env.CONTROLLER_PORT}` },
  "controller listening",
);
