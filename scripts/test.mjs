// `npm test`: every test of every package against real Postgres, Redis and ClickHouse (embedded store).
import { ensureNodeModules, ensureSystemPackages, importTs } from "./lib/bootstrap.mjs";

ensureNodeModules();
ensureSystemPackages();
await importTs("scripts/test-run.ts");
