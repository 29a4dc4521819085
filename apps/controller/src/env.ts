import { z } from "zod";

/** Controller configuration; validated once at start (see @flowplane/core/env). */
export const ZControllerEnv = z.object({
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
  CONTROLLER_HOST: z.string().default("127.0.0.1"),
  CONTROLLER_PORT: z.coerce.number().int().min(0).max(65535).default(7120),
  /** PEM key and certificate paths: set both to serve the agent link over HTTPS. */
  CONTROLLER_TLS_KEY: z.string().min(1).optional(),
  CONTROLLER_TLS_CERT: z.string().min(1).optional(),
});

export type TControllerEnv = z.infer<typeof ZControllerEnv>;
