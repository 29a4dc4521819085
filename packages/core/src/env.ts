import { z } from "zod";

/** Thrown when configuration is invalid; the message is one line a user can act on. */
export class EnvError extends Error {
  override name = "EnvError";
}

/**
 * Validates environment variables against a zod object schema. The error names each bad
 * variable and what it expects, never the value (it may be a secret).
 */
export function parseEnv<S extends z.ZodObject>(
  schema: S,
  env: Record<string, string | undefined> = process.env,
): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const name = issue.path.join(".") || "(environment)";
    return `${name}: ${issue.message}`;
  });
  throw new EnvError(`invalid configuration: ${problems.join("; ")}`);
}

/** Runs `parseEnv` for a process entry point: on error prints one line and exits 1. */
export function loadEnvOrExit<S extends z.ZodObject>(schema: S, env = process.env): z.infer<S> {
  try {
    return parseEnv(schema, env);
  } catch (err) {
    if (err instanceof EnvError) {
      process.stderr.write(`flowplane: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

/**
 * Field schemas shared by every process's env schema, so one variable means one thing (and one
 * message) everywhere. Defaults are the local services of a development machine.
 */
export const envFields = {
  postgresUrl: () =>
    z
      .url({ protocol: /^postgres(ql)?$/, error: "expected a postgres:// URL" })
      .default("postgres://postgres@127.0.0.1:5432/flowplane"),
  redisUrl: () =>
    z.url({ protocol: /^rediss?$/, error: "expected a redis:// URL" }).default("redis://127.0.0.1:6379"),
  clickhouseUrl: () =>
    z.url({ protocol: /^https?$/, error: "expected an http(s):// URL of ClickHouse's HTTP interface" }),
  clickhouseDatabase: () =>
    z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "expected a plain database name")
      .default("flowplane"),
  port: (fallback: number) => z.coerce.number().int().min(0).max(65_535).default(fallback),
};
