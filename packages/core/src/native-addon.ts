/**
 * Lazily compile a plain-C N-API addon with the system compiler and load it. Used by the agent
 * (its libpcap capture, sendmmsg sender and packet-ring sender) and by the controller's ingest
 * (@flowplane/query's TSV line writer).
 *
 * The agent runs as root, so whatever we load runs as root: the build goes into
 * $TMPDIR/flowplane-native-<uid>, created 0700, and both that directory and the .node file are
 * checked to be ours and not writable by others before loading (a file planted in shared /tmp
 * must never be loaded). Files are named by a hash of the source, the extra compiler flags and
 * the Node version, so a build is reused across runs and never stale; it is written to a
 * temporary name and renamed, so concurrent builders race harmlessly. N-API is ABI-stable, so
 * the headers of another Node 20 build are fine.
 *
 * Every failure (not Linux, no compiler, no headers, unsafe directory, compile error) yields a
 * one-line reason instead of a throw: callers fall back to a slower path and say why.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { threadId } from "node:worker_threads";

export interface AddonSpec {
  /** Short name for file names and reasons, e.g. "sendmmsg". */
  name: string;
  /** The C source (`new URL("./native/x.c", import.meta.url)`). */
  source: URL;
  /** Appended after the source, e.g. ["-lpcap", "-lpthread"]. */
  linkFlags?: string[];
  /** Headers that must exist before compiling, with what to install when missing. */
  requires?: { header: string; missing: string }[];
  /** Directory to build into; default the per-user directory under the temp dir (tests). */
  dir?: string;
}

const requireHere = createRequire(import.meta.url);

function nodeHeaderDir(): string | undefined {
  const candidates = [
    join(dirname(process.execPath), "..", "include", "node"),
    "/usr/include/node",
    "/usr/local/include/node",
  ];
  return candidates.find((d) => existsSync(join(d, "node_api.h")));
}

/** The per-user build directory: $TMPDIR/flowplane-native-<uid>. */
export function privateAddonDir(): string {
  return join(tmpdir(), `flowplane-native-${process.getuid?.() ?? -1}`);
}

/** Why `path` is unsafe to trust (not ours, or writable by group/others), or null. */
function unsafe(path: string, kind: "directory" | "file"): string | null {
  const uid = process.getuid?.() ?? -1;
  const st = lstatSync(path);
  const isKind = kind === "directory" ? st.isDirectory() : st.isFile();
  const badMode = kind === "directory" ? (st.mode & 0o077) !== 0 : (st.mode & 0o022) !== 0;
  if (isKind && st.uid === uid && !badMode) return null;
  const what = st.isSymbolicLink() ? "a symlink" : isKind ? kind : `not a ${kind}`;
  return `${path} is not a private ${kind} of uid ${uid} (${what}, owner ${st.uid}, mode ${(st.mode & 0o777).toString(8)})`;
}

/** The loaded addon, or a one-line reason it is unavailable. */
export function buildAddon<T>(spec: AddonSpec): T | string {
  const label = `${spec.name} addon`;
  if (process.platform !== "linux") return `${label}: Linux only`;
  try {
    const srcPath = fileURLToPath(spec.source);
    const flags = spec.linkFlags ?? [];
    const hash = createHash("sha256")
      .update(readFileSync(srcPath))
      .update(flags.join(" "))
      .update(process.version)
      .digest("hex")
      .slice(0, 16);
    const dir = spec.dir ?? privateAddonDir();
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const badDir = unsafe(dir, "directory");
    if (badDir) return `${label}: ${badDir}`;
    const out = join(dir, `${spec.name}-${hash}.node`);
    if (!existsSync(out)) {
      const inc = nodeHeaderDir();
      if (!inc) return `${label}: Node headers (node_api.h) not found`;
      for (const r of spec.requires ?? []) {
        if (!existsSync(r.header)) return `${label}: ${r.missing} (${r.header}) not installed`;
      }
      const tmp = `${out}.${process.pid}.${threadId}.tmp`;
      try {
        execFileSync("cc", ["-O2", "-shared", "-fPIC", "-I", inc, "-o", tmp, srcPath, ...flags], {
          stdio: "pipe",
        });
        renameSync(tmp, out);
      } finally {
        rmSync(tmp, { force: true });
      }
    }
    const badFile = unsafe(out, "file");
    if (badFile) return `${label}: ${badFile}`;
    return requireHere(out) as T;
  } catch (e) {
    const err = e as Error & { stderr?: Buffer };
    const detail = err.stderr?.toString().trim().split("\n")[0] || err.message.split("\n")[0];
    return `${label} unavailable (${detail})`;
  }
}
