// `npm run seed -w @flowplane/db`: idempotent demo data (org "demo", owner demo@flowplane.local).

import { loadEnvOrExit } from "@flowplane/core/env";
import { createLogger } from "@flowplane/core/log";
import { getDb } from "./client.ts";
import { dbEnvSchema } from "./env.ts";
import { seedDemo } from "./seed.ts";

const env = loadEnvOrExit(dbEnvSchema);
const log = createLogger("db-seed");
const db = getDb(env.DATABASE_URL);
try {
  const demo = await seedDemo(db);
  log.info(
    { orgId: demo.orgId, email: demo.email },
    demo.createdUser ? "demo owner created" : "demo data already there",
  );
  // Printed once, on purpose, to the terminal only (not through the logger, which may be shipped).
  if (demo.password) process.stdout.write(`demo login: ${demo.email} / ${demo.password}\n`);
} catch (err) {
  log.error(err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
} finally {
  await db.disconnect();
}
