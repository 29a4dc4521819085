// `npm run drift -w @flowplane/db`: compares prisma/schema with the database at DATABASE_URL.
import { loadEnvOrExit } from "@flowplane/core/env";
import { checkDrift, formatDifferences } from "./drift.ts";
import { dbEnvSchema } from "./env.ts";

const env = loadEnvOrExit(dbEnvSchema);
const diffs = await checkDrift(env.DATABASE_URL);
if (diffs.length === 0) process.stdout.write("schema and database agree\n");
else {
  process.stdout.write(
    `${diffs.length} differences between prisma/schema and the database:\n${formatDifferences(diffs)}\n`,
  );
  process.exitCode = 1;
}
