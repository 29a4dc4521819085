// `npm run migrate -w @flowplane/db`: creates the database if needed and applies pending migrations.

import { loadEnvOrExit } from "@flowplane/core/env";
import { createLogger } from "@flowplane/core/log";
import { dbEnvSchema } from "./env.ts";
import { ensureDatabase, migrate } from "./migrate.ts";

const env = loadEnvOrExit(dbEnvSchema);
const log = createLogger("db-migrate");
const where = new URL(env.DATABASE_URL);
where.password = "";

try {
  if (await ensureDatabase(env.DATABASE_URL)) log.info(`created database ${where.pathname.slice(1)}`);
  const result = await migrate(env.DATABASE_URL, { log: (line) => log.info(line) });
  log.info(
    `migrated ${where.host}${where.pathname}: ${result.applied.length} applied, ${result.skipped.length} already there`,
  );
} catch (err) {
  log.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
}
