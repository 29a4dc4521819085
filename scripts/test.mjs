// `npm test`: every test of every package against real Postgres, Redis and ClickHouse (embedded store).
import { ensureNodeModules, ensureSystemPackages, importTs } from "./lib/bootstrap.mjs";

// System packages first: the optional live-capture binding builds against libpcap-dev during npm install.
ensureSystemPackages();
ensureNodeModules();
await importTs("scripts/test-run.ts");
