import { type ClickHouseClient, createClient } from "@clickhouse/client";
import { consoleEnv } from "../env.ts";

const holder = globalThis as unknown as { __flowplaneConsoleCh?: ClickHouseClient };

/**
 * The process-wide ClickHouse client (HTTP), created on first use. Only /healthz uses it today;
 * telemetry pages will go through @flowplane/query's typed functions.
 */
export function appClickhouse(): ClickHouseClient {
  const env = consoleEnv();
  holder.__flowplaneConsoleCh ??= createClient({
    url: env.CLICKHOUSE_URL,
    database: env.CLICKHOUSE_DATABASE,
    request_timeout: 5_000,
  });
  return holder.__flowplaneConsoleCh;
}
