// `npm start`: install what is missing, migrate, seed, and run the whole product locally.
import { ensureNodeModules, ensureSystemPackages, importTs } from "./lib/bootstrap.mjs";

ensureNodeModules();
ensureSystemPackages(["--runtime"]);
await importTs("scripts/start-product.ts");
