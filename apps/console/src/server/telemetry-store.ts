import { ClickHouseError } from "@clickhouse/client";
import { FlowplaneError } from "@flowplane/core/errors";
import type { Logger } from "@flowplane/core/log";
import { TRPCError } from "@trpc/server";
import { z } from "zod";

/**
 * Runs a telemetry-store (ClickHouse) read; when the store does not answer (refused, reset, timed
 * out, not configured) the caller gets UNAVAILABLE with `<what> unavailable: the telemetry store
 * did not answer`, so a page shows that sentence in the one card that needs the store while the
 * rest (served from Postgres) keeps working. The network error itself is logged, not sent: it
 * names internal addresses. An error ClickHouse itself answered (bad SQL, a limit) is a bug or
 * the caller's and passes through untouched, like the caller's own typed errors.
 */
export async function orStoreUnavailable<T>(what: string, log: Logger, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (
      err instanceof ClickHouseError ||
      err instanceof FlowplaneError ||
      err instanceof TRPCError ||
      err instanceof z.ZodError
    )
      throw err;
    log.warn({ err }, `${what}: the telemetry store did not answer`);
    throw new FlowplaneError("UNAVAILABLE", `${what} unavailable: the telemetry store did not answer`);
  }
}
