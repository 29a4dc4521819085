import { envFields, parseEnv } from "@flowplane/core/env";
import { z } from "zod";

/**
 * The console's configuration. Read lazily (first request), never at import time, so that
 * `next build` needs none of these variables.
 */
export const consoleEnvSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  DATABASE_URL: envFields.postgresUrl(),
  CLICKHOUSE_URL: envFields.clickhouseUrl(),
  CLICKHOUSE_DATABASE: envFields.clickhouseDatabase(),
  // The start script generates and keeps a secret in development; the console only requires one.
  NEXTAUTH_SECRET: z.string().min(16, "expected a secret of at least 16 characters"),
  NEXTAUTH_URL: z.url({ error: "expected the console's public URL, e.g. http://localhost:3000" }).optional(),
  PORT: z.coerce.number().int().min(1).max(65_535).default(3000),
  // Where agents reach the controller: printed in the enrolment command. Default: this host, port 7120.
  FLOWPLANE_CONTROLLER_URL: z
    .url({ error: "expected the controller's URL, e.g. http://controller:7120" })
    .optional(),
  // Log one-time links (password reset) through the logger; on by default outside production.
  FLOWPLANE_LOG_LINKS: z.enum(["0", "1"]).optional(),
});

export type ConsoleEnv = z.infer<typeof consoleEnvSchema>;

let cached: ConsoleEnv | undefined;

/** The validated environment; throws an EnvError whose one line names the bad variable. */
export function consoleEnv(): ConsoleEnv {
  cached ??= parseEnv(consoleEnvSchema, process.env);
  return cached;
}

/** Whether one-time links may be written to the log (no mailer exists yet). */
export function logLinks(): boolean {
  const env = parseEnv(consoleEnvSchema.pick({ NODE_ENV: true, FLOWPLANE_LOG_LINKS: true }), process.env);
  return env.FLOWPLANE_LOG_LINKS ? env.FLOWPLANE_LOG_LINKS === "1" : env.NODE_ENV !== "production";
}

/** Only FLOWPLANE_CONTROLLER_URL (procedures need it without the database settings). */
export function controllerUrlSetting(): string | undefined {
  return parseEnv(consoleEnvSchema.pick({ FLOWPLANE_CONTROLLER_URL: true }), process.env)
    .FLOWPLANE_CONTROLLER_URL;
}

/** Only the auth secret: the proxy needs it without requiring the database settings. */
export function authSecret(): string {
  return parseEnv(consoleEnvSchema.pick({ NEXTAUTH_SECRET: true }), process.env).NEXTAUTH_SECRET;
}
