import { parseEnv } from "@flowplane/core/env";
import { z } from "zod";

// The only place this package reads process.env.
const postgresUrl = z
  .string()
  .regex(
    /^postgres(ql)?:\/\/\S+$/,
    "expected a postgres:// URL (e.g. postgres://postgres@127.0.0.1:5432/flowplane)",
  );

export const dbEnvSchema = z.object({
  DATABASE_URL: postgresUrl.default("postgres://postgres@127.0.0.1:5432/flowplane"),
  FLOWPLANE_TEST_PG_URL: postgresUrl.default("postgres://postgres@127.0.0.1:5432/postgres"),
  FLOWPLANE_TEST_RUN: z
    .string()
    .regex(/^[a-z0-9_]{1,20}$/i, "expected 1-20 letters, digits or underscores")
    .optional(),
});

export type DbEnv = z.infer<typeof dbEnvSchema>;

export function dbEnv(env: Record<string, string | undefined> = process.env): DbEnv {
  return parseEnv(dbEnvSchema, env);
}
