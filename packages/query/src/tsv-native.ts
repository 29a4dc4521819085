/**
 * The C line writer of the compact ingest encoding (native/tsv-lines.c), compiled lazily with the
 * system compiler and loaded as a plain N-API addon, as the agent builds its own
 * (apps/agent/src/native/build-addon.ts, whose rules this follows: a private per-user build
 * directory checked before loading, files named by a hash of the source and the Node version,
 * written under a temporary name and renamed). Anything missing (not Linux, no compiler, no
 * headers) leaves the JS writers in charge: `loadTsvNative` then gives the reason instead.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export interface TsvNative {
  encode(
    src: Buffer,
    pos: Int32Array,
    width: number,
    from: number,
    to: number,
    out: Buffer,
    o: number,
    program: Int32Array,
    maxes: Float64Array,
    org: Buffer,
    agent: Buffer,
    ov: readonly (Uint32Array | undefined)[],
    res: Float64Array,
  ): number;
  split(body: Buffer, p: number, rows: number, n: number, pos: Int32Array, res: Float64Array): number;
}

let cached: TsvNative | string | undefined;

/** The addon, or why it is unavailable (FLOWPLANE_TSV_NATIVE=0 turns it off). */
export function loadTsvNative(): TsvNative | string {
  if (process.env.FLOWPLANE_TSV_NATIVE === "0") return "tsv-lines addon: off (FLOWPLANE_TSV_NATIVE=0)";
  cached ??= build();
  return cached;
}

function build(): TsvNative | string {
  const label = "tsv-lines addon";
  if (process.platform !== "linux") return `${label}: Linux only`;
  try {
    const srcPath = fileURLToPath(new URL("./native/tsv-lines.c", import.meta.url));
    const hash = createHash("sha256")
      .update(readFileSync(srcPath))
      .update(process.version)
      .digest("hex")
      .slice(0, 16);
    const uid = process.getuid?.() ?? -1;
    const dir = join(tmpdir(), `flowplane-native-${uid}`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const badDir = unsafe(dir, "directory", uid);
    if (badDir) return `${label}: ${badDir}`;
    const out = join(dir, `tsv-lines-${hash}.node`);
    if (!existsSync(out)) {
      const inc = [
        join(dirname(process.execPath), "..", "include", "node"),
        "/usr/include/node",
        "/usr/local/include/node",
      ].find((d) => existsSync(join(d, "node_api.h")));
      if (!inc) return `${label}: Node headers (node_api.h) not found`;
      const tmp = `${out}.${process.pid}.tmp`;
      try {
        execFileSync("cc", ["-O2", "-shared", "-fPIC", "-I", inc, "-o", tmp, srcPath], { stdio: "pipe" });
        renameSync(tmp, out);
      } finally {
        rmSync(tmp, { force: true });
      }
    }
    const badFile = unsafe(out, "file", uid);
    if (badFile) return `${label}: ${badFile}`;
    return createRequire(import.meta.url)(out) as TsvNative;
  } catch (e) {
    const err = e as Error & { stderr?: Buffer };
    const detail = err.stderr?.toString().trim().split("\n")[0] || err.message.split("\n")[0];
    return `${label} unavailable (${detail})`;
  }
}

/** Why `path` is unsafe to load from (not ours, or writable by group/others), or null. */
function unsafe(path: string, kind: "directory" | "file", uid: number): string | null {
  const st = lstatSync(path);
  const isKind = kind === "directory" ? st.isDirectory() : st.isFile();
  const badMode = kind === "directory" ? (st.mode & 0o077) !== 0 : (st.mode & 0o022) !== 0;
  if (isKind && st.uid === uid && !badMode) return null;
  return `${path} is not a private ${kind} of uid ${uid} (owner ${st.uid}, mode ${(st.mode & 0o777).toString(8)})`;
}
