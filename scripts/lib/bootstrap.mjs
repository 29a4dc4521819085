// Runs before dependencies exist, so plain Node only: install npm dependencies when missing or stale.
import { spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  console.error(`flowplane: Node.js >= 20.19 is required (this is ${process.version}).`);
  process.exit(1);
}

/** `npm ci` when node_modules is missing or older than package-lock.json; quiet unless it fails. */
export function ensureNodeModules() {
  const lock = join(ROOT, "package-lock.json");
  const installed = join(ROOT, "node_modules", ".package-lock.json");
  if (existsSync(installed) && statSync(installed).mtimeMs >= statSync(lock).mtimeMs) return;
  console.log("flowplane: installing npm dependencies (npm ci; first time takes a few minutes) ...");
  const r = spawnSync("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: ROOT, stdio: "inherit" });
  if (r.status !== 0) {
    console.error("flowplane: `npm ci` failed; see the npm output above.");
    process.exit(1);
  }
}

/** Debian packages the product or its tests need; the script skips what is present. */
export function ensureSystemPackages(args = []) {
  const script = join(ROOT, "scripts", "install-system.sh");
  if (!existsSync(script)) return;
  const r = spawnSync("bash", [script, ...args], { cwd: ROOT, stdio: "inherit" });
  if (r.status !== 0) {
    console.error("flowplane: installing system packages failed; see the output above.");
    process.exit(1);
  }
}

/** Load TypeScript entry points through tsx (installed by ensureNodeModules). */
export async function importTs(relPath) {
  const { register } = await import("tsx/esm/api");
  register();
  return import(join(ROOT, relPath));
}
