// Runs `prisma generate` offline: Prisma 7 wants a schema engine binary on disk even though
// generate never starts it, so point it at a stub unless the caller provided a real one.
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const pkgDir = join(here, "..");
const require = createRequire(import.meta.url);
let prismaCli;
try {
  prismaCli = require.resolve("prisma/build/index.js");
} catch {
  // A production install (--omit=dev) has no prisma CLI: postinstall must not fail the install,
  // but say plainly that the client was not generated.
  const optional = process.argv.includes("--if-available");
  process.stderr.write(`@flowplane/db: prisma CLI not installed, Prisma client not generated\n`);
  process.exit(optional ? 0 : 1);
}

const env = { ...process.env };
env.PRISMA_SCHEMA_ENGINE_BINARY ??= join(here, "schema-engine-stub.sh");
env.PRISMA_HIDE_UPDATE_MESSAGE = "1";
const result = spawnSync(process.execPath, [prismaCli, "generate"], { cwd: pkgDir, env, stdio: "inherit" });
process.exit(result.status ?? 1);
