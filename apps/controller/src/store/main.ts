import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createLogger } from "@flowplane/core/log";
import { z } from "zod";
import { StoreLockedError, startStore } from "./server.ts";

/**
 * The store process: `node --import tsx apps/controller/src/store/main.ts --data-dir <dir>
 * [--host 127.0.0.1] [--port 8123] [--ready-file <path>]`.
 */

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../..");
export const DEFAULT_DATA_DIR = path.join(repoRoot, ".data", "clickhouse");

const Args = z.object({
  "data-dir": z.string().min(1).default(DEFAULT_DATA_DIR),
  host: z.string().min(1).default("127.0.0.1"),
  port: z.coerce.number().int().min(0).max(65535).default(8123),
  "ready-file": z.string().min(1).optional(),
});

function fail(line: string): never {
  process.stderr.write(`flowplane store: ${line}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  let raw: Record<string, unknown>;
  try {
    raw = parseArgs({
      options: {
        "data-dir": { type: "string" },
        host: { type: "string" },
        port: { type: "string" },
        "ready-file": { type: "string" },
      },
      strict: true,
    }).values;
  } catch (err) {
    fail((err as Error).message);
  }
  const parsed = Args.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    fail(`--${issue?.path.join(".")}: ${issue?.message}`);
  }
  const args = parsed.data;
  const log = createLogger("store");
  mkdirSync(args["data-dir"], { recursive: true });

  let store: Awaited<ReturnType<typeof startStore>>;
  try {
    store = await startStore({ dataDir: args["data-dir"], host: args.host, port: args.port });
  } catch (err) {
    if (err instanceof StoreLockedError) fail(err.message);
    const e = err as NodeJS.ErrnoException;
    if (e.code === "EADDRINUSE")
      fail(`port ${args.port} on ${args.host} is already in use: pass --port 0 or another port`);
    throw err;
  }

  const readyFile = args["ready-file"];
  if (readyFile) {
    // Written then renamed, so a watcher never reads half a file.
    const tmp = `${readyFile}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify({ url: store.url, dataDir: store.dataDir, pid: process.pid })}\n`);
    renameSync(tmp, readyFile);
  }
  log.info({ url: store.url, dataDir: store.dataDir }, `ClickHouse store listening on ${store.url}`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "store stopping");
    store.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, "store did not close cleanly");
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

await main();
