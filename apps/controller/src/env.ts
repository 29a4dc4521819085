import { envFields } from "@flowplane/core/env";
import { z } from "zod";

/** Controller configuration; validated once at start (see @flowplane/core/env). */
export const ZControllerEnv = z.object({
  DATABASE_URL: envFields.postgresUrl(),
  CLICKHOUSE_URL: envFields.clickhouseUrl(),
  CLICKHOUSE_DATABASE: envFields.clickhouseDatabase(),
  REDIS_URL: envFields.redisUrl(),
  CONTROLLER_HOST: z.string().default("127.0.0.1"),
  CONTROLLER_PORT: envFields.port(7120),
  /** PEM key and certificate paths: set both to serve the agent link over HTTPS. */
  CONTROLLER_TLS_KEY: z.string().min(1).optional(),
  CONTROLLER_TLS_CERT: z.string().min(1).optional(),
  /** Seconds an agent must be silent before the fleet jobs archive it (hidden, never deleted). */
  AGENT_ARCHIVE_AFTER_S: z.coerce
    .number()
    .int()
    .min(60)
    .default(30 * 24 * 3600),
  /** 32 bytes, base64: encrypts cloud-account credentials at rest; cloud syncs are off without it. */
  FLOWPLANE_SECRETS_KEY: z
    .string()
    .refine((v) => Buffer.from(v, "base64").length === 32, "expected 32 bytes encoded as base64")
    .optional(),
});

export type TControllerEnv = z.infer<typeof ZControllerEnv>;
