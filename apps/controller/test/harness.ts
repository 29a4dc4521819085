import type { AddressInfo } from "node:net";
import { createLogger } from "@flowplane/core/log";
import { seedAgentGroup, seedEnrollmentToken, seedOrg } from "@flowplane/db/seed";
import { createTestDatabase, type TestDatabase } from "@flowplane/db/testing";
import type { TEnrollResponse } from "@flowplane/protocol";
import { PROTOCOL_VERSION } from "@flowplane/protocol";
import { ROW_TABLES } from "@flowplane/query/rows";
import { createTestClickhouse, type TestClickhouse } from "@flowplane/query/testing";
import type { FastifyInstance } from "fastify";
import { Redis } from "ioredis";
import { enroll as enrollAgentClient } from "../../agent/src/controller-link/index.ts";
import type { TAgentApiOptions } from "../src/agents/api.ts";
import { createAgentRuntime } from "../src/agents/wiring.ts";
import { buildControllerServer } from "../src/http/server.ts";
import type { TRowWriter } from "../src/ingest/ingest.ts";

export const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

export type THarness = {
  app: FastifyInstance;
  tdb: TestDatabase;
  redis: Redis;
  close(): Promise<void>;
};

/** A controller on a fresh Postgres database and the real Redis, exercised through fastify inject. */
export async function startHarness(
  label: string,
  opts: { writeRows?: TRowWriter; options?: Partial<TAgentApiOptions> } = {},
): Promise<THarness> {
  const tdb = await createTestDatabase(label);
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  const writeRows: TRowWriter =
    opts.writeRows ??
    (async () => {
      throw new Error("this harness has no ClickHouse writer");
    });
  const app = buildControllerServer({
    log: createLogger("controller-test"),
    probes: {},
    agentApi: { db: tdb.db, redis, writeRows, ...(opts.options ? { options: opts.options } : {}) },
  });
  await app.ready();
  return {
    app,
    tdb,
    redis,
    close: async () => {
      await app.close();
      await redis.quit();
      await tdb.drop();
    },
  };
}

/** An org with a group (revision 1) and a fresh enrolment token. */
export async function seedTenant(h: THarness, groupOverrides: { syncIntervalS?: number } = {}) {
  const org = await seedOrg(h.tdb.db);
  const group = await seedAgentGroup(h.tdb.db, org.id, groupOverrides);
  const token = await seedEnrollmentToken(h.tdb.db, org.id, group.id);
  return { org, group, token };
}

export function enrollBody(enrollmentToken: string, extra: Record<string, unknown> = {}) {
  return {
    protocolVersion: PROTOCOL_VERSION,
    enrollmentToken,
    hostname: "node-1.example",
    ips: ["10.0.0.5", "fd00::5"],
    agentVersion: "0.1.0",
    os: "linux 6.1 x64",
    ...extra,
  };
}

export async function enroll(h: THarness, token: string): Promise<TEnrollResponse> {
  const res = await h.app.inject({ method: "POST", url: "/v1/agents/enroll", payload: enrollBody(token) });
  if (res.statusCode !== 201) throw new Error(`enrol failed: ${res.statusCode} ${res.body}`);
  return res.json();
}

export const STATS = {
  cpuPct: 4.5,
  memBytes: 120_000_000,
  packetsPerS: 1500,
  bytesPerS: 900_000,
  drops: 0,
  flows: 42,
  spoolBytes: 0,
  version: "0.1.0",
};

export function syncBody(agentId: string, extra: Record<string, unknown> = {}) {
  return {
    protocolVersion: PROTOCOL_VERSION,
    agentId,
    state: "running",
    appliedRevision: 0,
    stats: STATS,
    ...extra,
  };
}

export function bearer(credential: string) {
  return { authorization: `Bearer ${credential}` };
}

export type TListeningController = {
  url: string;
  tdb: TestDatabase;
  ch: TestClickhouse;
  close(): Promise<void>;
};

/**
 * The whole agent-facing controller (runtime with ingest into a fresh ClickHouse database, fresh
 * Postgres) listening on a loopback port, for tests that drive it with the agent's own client or
 * the agent binary. With `tls` it serves HTTPS.
 */
export async function startListeningController(
  label: string,
  opts: { options?: Partial<TAgentApiOptions>; tls?: { key: Buffer; cert: Buffer } } = {},
): Promise<TListeningController> {
  const tdb = await createTestDatabase(label);
  const ch = await createTestClickhouse(label);
  const log = createLogger("controller-test");
  const runtime = await createAgentRuntime({
    databaseUrl: tdb.url,
    redisUrl,
    clickhouse: ch.client,
    log,
    jobs: false,
    ...(opts.options ? { options: opts.options } : {}),
  });
  const app = buildControllerServer({
    log,
    probes: {},
    agentApi: runtime.agentApi,
    ...(opts.tls ? { tls: opts.tls } : {}),
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  return {
    url: `${opts.tls ? "https" : "http"}://127.0.0.1:${port}`,
    tdb,
    ch,
    close: async () => {
      await app.close();
      await runtime.close();
      await ch.drop();
      await tdb.drop();
    },
  };
}

/**
 * A new agent enrolled through the agent's own client into `orgId` (a new org when none), in a
 * group of its own: its org, id and credential.
 */
export async function enrollAgent(controller: TListeningController, hostname: string, orgId?: string) {
  const org = orgId ? { id: orgId } : await seedOrg(controller.tdb.db);
  const group = await seedAgentGroup(controller.tdb.db, org.id);
  const token = await seedEnrollmentToken(controller.tdb.db, org.id, group.id);
  const a = await enrollAgentClient(controller.url, {
    enrollmentToken: token.token,
    hostname,
    ips: [],
    agentVersion: "0.1.0",
    os: "linux",
  });
  return { orgId: org.id, agentId: a.agentId, credential: a.credential };
}

/** POST /v1/ingest to a listening controller with an agent's credential, as-is. */
export function postIngest(
  controller: TListeningController,
  credential: string,
  body: Buffer | string,
  contentType: string,
) {
  return fetch(`${controller.url}/v1/ingest`, {
    method: "POST",
    headers: { authorization: `Bearer ${credential}`, "content-type": contentType },
    body,
  });
}

/** Every column of an agent's stored rows but agent_id, in a stable order: what two ingest paths must store alike. */
export async function storedRows(
  controller: TListeningController,
  table: "l4_flow_log" | "network_metrics",
  orgId: string,
  agentId: string,
) {
  const columns = Object.keys(ROW_TABLES[table].columns).filter((c) => c !== "agent_id");
  const order = table === "l4_flow_log" ? "flow_id, end_time" : "time, client_ip, server_port";
  const rs = await controller.ch.client.query({
    query: `SELECT ${columns.join(", ")} FROM ${table} WHERE org_id = {org:UUID} AND agent_id = {agent:UUID} ORDER BY ${order}`,
    query_params: { org: orgId, agent: agentId },
    format: "JSONEachRow",
  });
  return rs.json<Record<string, unknown>>();
}
