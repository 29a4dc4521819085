import { createLogger, type Logger } from "@flowplane/core/log";
import { type Principal, principalFromClaims, type SessionClaims } from "../auth/principal.ts";
import type { Db } from "../db.ts";

const log = createLogger("console");

export type TrpcContext = {
  /** The whole database: `unsafe` for deliberate cross-tenant reads, `forOrg` for scoped ones. */
  db: Db;
  principal: Principal | null;
  /** `x-flowplane-org` header: the org for scripts that do not put `orgSlug` in the input. */
  orgSlugHeader: string | null;
  log: Logger;
};

/**
 * Builds the context from JWT claims (or none). The HTTP handler and tests share this, so a
 * test's "fake session" goes through the same database re-check as a real request.
 */
export async function createContext(opts: {
  db: Db;
  claims: SessionClaims | null;
  headers?: Headers;
}): Promise<TrpcContext> {
  const principal = await principalFromClaims(opts.db, opts.claims);
  return {
    db: opts.db,
    principal,
    orgSlugHeader: opts.headers?.get("x-flowplane-org") ?? null,
    log: principal ? log.child({ userId: principal.userId }) : log,
  };
}
