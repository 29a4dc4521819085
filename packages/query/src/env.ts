import { parseEnv } from "@flowplane/core/env";
import { z } from "zod";

/** The environment @flowplane/query reads (tests and tools only; apps pass URLs explicitly). */
const ZQueryEnv = z.object({
  /** A running store or ClickHouse server; unset in tests = start a store for this process. */
  CLICKHOUSE_URL: z.url().optional(),
  /** Per-run id so that test databases of different runs never collide. */
  FLOWPLANE_TEST_RUN: z
    .string()
    .regex(/^[A-Za-z0-9_]{1,32}$/, "letters, digits and _ only")
    .optional(),
});

export function queryEnv(): z.infer<typeof ZQueryEnv> {
  return parseEnv(ZQueryEnv);
}
