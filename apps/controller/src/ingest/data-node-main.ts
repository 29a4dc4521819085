/**
 * The controller in its ingest role: a data node. Serves the agent API (ingest, and sync/enrol so
 * any node can answer an agent), registers itself in data_nodes by name and heartbeats; the fleet
 * jobs of a controller mark it down when the heartbeats stop and move its agents.
 *
 *   DATA_NODE_NAME=dn-1 CLICKHOUSE_URL=http://127.0.0.1:8123 node --import tsx apps/controller/src/ingest/data-node-main.ts
 */
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { loadEnvOrExit } from "@flowplane/core/env";
import { createLogger } from "@flowplane/core/log";
import { createClickhouse } from "@flowplane/query/client";
import { createAgentRuntime } from "../agents/wiring.ts";
import { buildControllerServer } from "../http/server.ts";
import { unsafeHeartbeatDataNode, unsafeRegisterDataNode } from "./data-node.ts";
import { ZDataNodeEnv } from "./data-node-env.ts";

const env = loadEnvOrExit(ZDataNodeEnv);
const log = createLogger("data-node", { node: env.DATA_NODE_NAME });
const tls =
  env.DATA_NODE_TLS_CERT_FILE && env.DATA_NODE_TLS_KEY_FILE
    ? { cert: readFileSync(env.DATA_NODE_TLS_CERT_FILE), key: readFileSync(env.DATA_NODE_TLS_KEY_FILE) }
    : undefined;
const clickhouse = createClickhouse({ url: env.CLICKHOUSE_URL, database: env.CLICKHOUSE_DATABASE });
const runtime = await createAgentRuntime({
  databaseUrl: env.DATABASE_URL,
  redisUrl: env.REDIS_URL,
  clickhouse,
  log,
  jobs: false, // fleet jobs belong to controllers; a data node only ingests
});
const app = buildControllerServer({
  log,
  probes: {
    clickhouse: async () => {
      const r = await clickhouse.ping();
      if (!r.success) throw r.error;
    },
  },
  agentApi: runtime.agentApi,
  ...(tls ? { tls } : {}),
});
await app.listen({ host: env.DATA_NODE_HOST, port: env.DATA_NODE_PORT });
const port = (app.server.address() as AddressInfo).port;
const url = env.DATA_NODE_PUBLIC_URL ?? `${tls ? "https" : "http"}://${env.DATA_NODE_HOST}:${port}`;
const node = await unsafeRegisterDataNode(runtime.agentApi.db, {
  name: env.DATA_NODE_NAME,
  url,
  capacity: env.DATA_NODE_CAPACITY,
});
const heartbeat = setInterval(() => {
  unsafeHeartbeatDataNode(runtime.agentApi.db, node.id).catch((err) => log.warn({ err }, "heartbeat failed"));
}, env.DATA_NODE_HEARTBEAT_S * 1000);
if (env.DATA_NODE_READY_FILE) {
  // Renamed into place: a reader polling for the file never sees it half written.
  writeFileSync(`${env.DATA_NODE_READY_FILE}.tmp`, JSON.stringify({ id: node.id, url }));
  renameSync(`${env.DATA_NODE_READY_FILE}.tmp`, env.DATA_NODE_READY_FILE);
}
log.info({ url, id: node.id }, "data node listening");

let stopping = false;
async function stop(signal: string) {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, "data node stopping");
  clearInterval(heartbeat);
  await app.close();
  await Promise.allSettled([runtime.close(), clickhouse.close()]);
  process.exit(0);
}
process.on("SIGINT", () => void stop("SIGINT"));
process.on("SIGTERM", () => void stop("SIGTERM"));
