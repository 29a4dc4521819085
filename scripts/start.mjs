// `npm start`: install what is missing, migrate, seed, and run the whole product locally.
import { ensureNodeModules, ensureSystemPackages, importTs } from "./lib/bootstrap.mjs";

// System packages first: the optional live-capture binding builds against libpcap-dev during npm install.
ensureSystemPackages(["--runtime"]);
ensureNodeModules();
await importTs("scripts/start-product.ts");
