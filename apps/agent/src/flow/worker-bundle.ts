/**
 * Worker threads run an esbuild bundle of their TypeScript entry rather than registering tsx in
 * every thread (≈0.9 s each). Building costs 0.1-0.5 s (more on a busy machine), so a bundle is
 * reused across processes: next to it a manifest lists every input file esbuild read with its
 * size and mtime, and the bundle is rebuilt only when one of them changed. Bundles are written
 * to a temporary name and renamed, so concurrent processes never read half a file.
 *
 * A bundle is plain JavaScript, so its worker is started without this process's module loader
 * flags (`bundleExecArgv`): a worker inherits `--import tsx` otherwise and registers tsx again
 * (measured: 45 ms of CPU and 100-200 ms of wall clock a worker, against ~25 ms to load the bundle).
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const built = new Map<string, string>();

const LOADER_FLAGS = new Set(["--import", "--require", "-r", "--loader", "--experimental-loader"]);

/** This process's Node flags minus module loaders and preloads, for a worker running a bundle. */
export function bundleExecArgv(): string[] {
  const out: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const eq = a.indexOf("=");
    if (LOADER_FLAGS.has(eq > 0 ? a.slice(0, eq) : a)) {
      if (eq < 0) i++; // the flag's value is the next argument
      continue;
    }
    out.push(a);
  }
  return out;
}

type Manifest = { bundle: string; inputs: [path: string, size: number, mtimeMs: number][] };

function fresh(manifestFile: string): string | null {
  try {
    const m = JSON.parse(readFileSync(manifestFile, "utf8")) as Manifest;
    if (!existsSync(m.bundle)) return null;
    for (const [p, size, mtimeMs] of m.inputs) {
      const st = statSync(p);
      if (st.size !== size || st.mtimeMs !== mtimeMs) return null;
    }
    return m.bundle;
  } catch {
    return null;
  }
}

function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/** `format` "cjs" starts faster in a worker (no ESM loader) but allows no top-level await. */
export async function workerBundle(entry: URL, format: "esm" | "cjs" = "esm"): Promise<string> {
  const key = `${format}:${entry.href}`;
  const cached = built.get(key);
  if (cached) return cached;
  const entryPath = fileURLToPath(entry);
  const dir = join(tmpdir(), "flowplane-agent");
  mkdirSync(dir, { recursive: true });
  const name = `${entry.pathname.split("/").pop()?.replace(/\.ts$/, "") ?? "worker"}-${format}`;
  const manifestFile = join(
    dir,
    `${name}-${createHash("sha256").update(entryPath).digest("hex").slice(0, 12)}.manifest.json`,
  );
  const reused = fresh(manifestFile);
  if (reused) {
    built.set(key, reused);
    return reused;
  }
  const { buildSync } = await import("esbuild");
  const r = buildSync({
    entryPoints: [entryPath],
    bundle: true,
    format,
    platform: "node",
    target: "node20",
    write: false,
    metafile: true,
    logLevel: "silent",
  });
  const text = r.outputFiles[0]?.text ?? "";
  const ext = format === "cjs" ? "cjs" : "mjs";
  const out = join(dir, `${name}-${createHash("sha256").update(text).digest("hex").slice(0, 16)}.${ext}`);
  if (!existsSync(out)) writeAtomic(out, text);
  const cwd = process.cwd();
  const inputs: Manifest["inputs"] = [];
  for (const p of Object.keys(r.metafile?.inputs ?? {})) {
    const abs = resolve(cwd, p);
    const st = statSync(abs);
    inputs.push([abs, st.size, st.mtimeMs]);
  }
  writeAtomic(manifestFile, JSON.stringify({ bundle: out, inputs } satisfies Manifest));
  built.set(key, out);
  return out;
}
