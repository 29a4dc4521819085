// Runs before dependencies exist, so plain Node only: install npm dependencies when missing or stale.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  console.error(`flowplane: Node.js >= 20.19 is required (this is ${process.version}).`);
  process.exit(1);
}

/**
 * Installs npm dependencies: `npm ci` on a fresh clone; `npm install` (non-destructive, quick when
 * nothing changed) when the lock file differs from the one last installed here. A hash of the lock
 * kept in node_modules says which one that was; timestamps would misfire after a checkout.
 */
export function ensureNodeModules() {
  const lock = join(ROOT, "package-lock.json");
  const marker = join(ROOT, "node_modules", ".flowplane-lock-hash");
  const want = createHash("sha256").update(readFileSync(lock)).digest("hex");
  if (existsSync(marker) && readFileSync(marker, "utf8") === want) return;
  const fresh = !existsSync(join(ROOT, "node_modules", ".package-lock.json"));
  const args = fresh ? ["ci"] : ["install"];
  console.log(
    `flowplane: installing npm dependencies (npm ${args[0]}${fresh ? "; the first time takes a few minutes" : ""}) ...`,
  );
  const r = spawnSync("npm", [...args, "--no-audit", "--no-fund", "--loglevel=error"], {
    cwd: ROOT,
    stdio: "inherit",
  });
  if (r.status !== 0) {
    console.error(`flowplane: \`npm ${args[0]}\` failed; see the npm output above.`);
    process.exit(1);
  }
  writeFileSync(marker, want);
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
