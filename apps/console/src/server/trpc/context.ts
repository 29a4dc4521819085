import { createLogger, type Logger } from "@flowplane/core/log";
import {
  apiKeyFromHeader,
  type Principal,
  principalFromApiKey,
  principalFromClaims,
  type SessionClaims,
} from "../auth/principal.ts";
import type { Db } from "../db.ts";

const log = createLogger("console");

export type TrpcContext = {
  /** The whole database: `unsafe` for deliberate cross-tenant reads, `forOrg` for scoped ones. */
  db: Db;
  principal: Principal | null;
  /** `x-flowplane-org` header: the org for scripts that do not put `orgSlug` in the input. */
  orgSlugHeader: string | null;
  /** The caller's address as the proxy in front saw it (audit rows), when known. */
  ip: string | null;
  /** Where links in messages point (invitations, password resets): the request's own origin. */
  origin: string | null;
  log: Logger;
};

/**
 * Builds the context from JWT claims (or none) and the request headers. An `Authorization:
 * Bearer fpk_…` header makes the caller that API key instead of a user (a bad key is simply no
 * principal: 401). The HTTP handler and tests share this, so a test's "fake session" goes through
 * the same database re-check as a real request.
 */
export async function createContext(opts: {
  db: Db;
  claims: SessionClaims | null;
  headers?: Headers;
  origin?: string;
}): Promise<TrpcContext> {
  const apiKey = apiKeyFromHeader(opts.headers?.get("authorization"));
  const principal: Principal | null = apiKey
    ? await principalFromApiKey(opts.db, apiKey)
    : await principalFromClaims(opts.db, opts.claims);
  const forwarded = opts.headers?.get("x-forwarded-for")?.split(",")[0]?.trim();
  return {
    db: opts.db,
    principal,
    orgSlugHeader: opts.headers?.get("x-flowplane-org") ?? null,
    ip: forwarded || null,
    origin: opts.origin ?? null,
    log: !principal
      ? log
      : principal.kind === "user"
        ? log.child({ userId: principal.userId })
        : log.child({ apiKeyId: principal.apiKeyId }),
  };
}
