import { type Db, getDb, type ScopedClient } from "@flowplane/db/client";
import { consoleEnv } from "../env.ts";

export type { Db };
export type TenantDb = ScopedClient;

/** The process-wide database handle, opened on first use (never at import: builds need no DB). */
export function appDb(): Db {
  return getDb(consoleEnv().DATABASE_URL);
}
