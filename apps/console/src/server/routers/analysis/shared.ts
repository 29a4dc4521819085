import { FlowplaneError } from "@flowplane/core/errors";
import { FilterError, ZFilter } from "@flowplane/query";
import { type ClickHouseClient, createClickhouse } from "@flowplane/query/client";
import { z } from "zod";
import { consoleEnv } from "../../../env.ts";

const holder = globalThis as unknown as { __flowplaneAnalysisCh?: ClickHouseClient };

/** The ClickHouse client of the analysis procedures (with @flowplane/query's limits), made on first use. */
export function analysisClickhouse(): ClickHouseClient {
  if (!holder.__flowplaneAnalysisCh) {
    const env = consoleEnv();
    holder.__flowplaneAnalysisCh = createClickhouse({
      url: env.CLICKHOUSE_URL,
      database: env.CLICKHOUSE_DATABASE,
    });
  }
  return holder.__flowplaneAnalysisCh;
}

/** Tests point the procedures at their own database. */
export function setAnalysisClickhouse(client: ClickHouseClient | undefined): void {
  holder.__flowplaneAnalysisCh = client;
}

/** µs since the epoch; at most 31 days per request. */
export const rangeInput = {
  from: z.number().int().nonnegative(),
  to: z.number().int().positive(),
};
export const filtersInput = z.array(ZFilter).max(32).default([]);

/** Filter and cursor mistakes are the caller's: BAD_REQUEST with the builder's sentence. */
export async function asBadRequest<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof FilterError) throw new FlowplaneError("BAD_REQUEST", err.message);
    if (err instanceof z.ZodError)
      throw new FlowplaneError("BAD_REQUEST", err.issues[0]?.message ?? "bad input");
    throw err;
  }
}

export const zNum = z.number();
