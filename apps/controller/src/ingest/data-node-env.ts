import { envFields } from "@flowplane/core/env";
import { DATA_NODE_HEARTBEAT_S } from "@flowplane/db";
import { z } from "zod";

/** Configuration of an ingest ("data node") process; validated once at start. */
export const ZDataNodeEnv = z.object({
  DATABASE_URL: envFields.postgresUrl(),
  CLICKHOUSE_URL: envFields.clickhouseUrl(),
  CLICKHOUSE_DATABASE: envFields.clickhouseDatabase(),
  REDIS_URL: envFields.redisUrl(),
  DATA_NODE_NAME: z.string().min(1, "expected a name unique among data nodes"),
  DATA_NODE_HOST: z.string().default("127.0.0.1"),
  DATA_NODE_PORT: envFields.port(7130),
  /** The URL agents use; defaults to http://HOST:PORT as listened on. */
  DATA_NODE_PUBLIC_URL: z.url().optional(),
  DATA_NODE_CAPACITY: z.coerce.number().int().min(1).default(100),
  /** Three missed heartbeats mark the node down (DEFAULT_REBALANCE in jobs/scheduler.ts). */
  DATA_NODE_HEARTBEAT_S: z.coerce.number().positive().default(DATA_NODE_HEARTBEAT_S),
  /** PEM files: when both are set the node serves HTTPS (agents then need the CA). */
  DATA_NODE_TLS_CERT_FILE: z.string().optional(),
  DATA_NODE_TLS_KEY_FILE: z.string().optional(),
  /** Written once listening and registered: {"id","url"} (tests and scripts wait for it). */
  DATA_NODE_READY_FILE: z.string().optional(),
});
export type TDataNodeEnv = z.infer<typeof ZDataNodeEnv>;
