import { createLogger } from "@flowplane/core/log";
import { seedAgentGroup, seedEnrollmentToken, seedOrg } from "@flowplane/db/seed";
import { createTestDatabase, type TestDatabase } from "@flowplane/db/testing";
import type { TEnrollResponse } from "@flowplane/protocol";
import { PROTOCOL_VERSION } from "@flowplane/protocol";
import type { FastifyInstance } from "fastify";
import { Redis } from "ioredis";
import type { TAgentApiOptions } from "../src/agents/api.ts";
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
