import { z } from "zod";

/** Configuration of an ingest ("data node") process; validated once at start. */
export const ZDataNodeEnv = z.object({
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "expected a postgres:// URL")
    .default("postgres://postgres@127.0.0.1:5432/flowplane"),
  CLICKHOUSE_URL: z.url("expected an http(s):// URL of a ClickHouse HTTP interface"),
  CLICKHOUSE_DATABASE: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "expected a plain database name")
    .default("flowplane"),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, "expected a redis:// URL")
    .default("redis://127.0.0.1:6379"),
  DATA_NODE_NAME: z.string().min(1, "expected a name unique among data nodes"),
  DATA_NODE_HOST: z.string().default("127.0.0.1"),
  DATA_NODE_PORT: z.coerce.number().int().min(0).max(65535).default(7130),
  /** The URL agents use; defaults to http://HOST:PORT as listened on. */
  DATA_NODE_PUBLIC_URL: z.url().optional(),
  DATA_NODE_CAPACITY: z.coerce.number().int().min(1).default(100),
  DATA_NODE_HEARTBEAT_S: z.coerce.number().positive().default(5),
  /** PEM files: when both are set the node serves HTTPS (agents then need the CA). */
  DATA_NODE_TLS_CERT_FILE: z.string().optional(),
  DATA_NODE_TLS_KEY_FILE: z.string().optional(),
  /** Written once listening and registered: {"id","url"} (tests and scripts wait for it). */
  DATA_NODE_READY_FILE: z.string().optional(),
});
export type TDataNodeEnv = z.infer<typeof ZDataNodeEnv>;
