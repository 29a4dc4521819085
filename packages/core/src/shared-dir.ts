import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Repository root, found from this file's location (packages/core/src). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

/**
 * The shared corpus (`../shared` beside the clone: pcaps, docs). Tests find it through this one
 * variable, FLOWPLANE_SHARED_DIR, and fail loudly without it: a test that silently skips its
 * reference data proves nothing.
 */
export function sharedDir(): string {
  const dir = resolve(process.env.FLOWPLANE_SHARED_DIR ?? join(REPO_ROOT, "..", "shared"));
  if (!existsSync(join(dir, "pcaps"))) {
    throw new Error(
      `shared corpus not found at ${dir} (expected ${dir}/pcaps). Put the shared/ folder beside the clone or set FLOWPLANE_SHARED_DIR.`,
    );
  }
  return dir;
}

export const sharedPcapsDir = (): string => join(sharedDir(), "pcaps");
