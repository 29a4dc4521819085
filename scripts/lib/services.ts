import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import pg from "pg";

export const ROOT = join(import.meta.dirname, "../..");

const PG_START = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start";
const REDIS_START =
  'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no';

/** Resolves when Postgres answers a query; otherwise throws one line saying how to start it. */
export async function checkPostgres(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query("SELECT 1");
  } catch (err) {
    const where = new URL(url).host;
    throw new Error(
      `PostgreSQL does not answer at ${where} (${(err as Error).message}); start it with: ${PG_START}`,
    );
  } finally {
    await client.end().catch(() => {});
  }
}

/** Resolves when Redis answers PING; otherwise throws one line saying how to start it. */
export async function checkRedis(url: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 3000 });
  redis.on("error", () => {});
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    throw new Error(
      `Redis does not answer at ${new URL(url).host} (${(err as Error).message}); start it with: ${REDIS_START}`,
    );
  } finally {
    redis.disconnect();
  }
}

/** Creates the database named in `url` if it does not exist (connecting to `postgres` to do so). */
export async function ensurePostgresDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
    throw new Error(`DATABASE_URL names an unusual database "${name}"`);
  const admin = new URL(url);
  admin.pathname = "/postgres";
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    if (!rowCount) await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
}

export type TStore = { url: string; child: ChildProcess; stop(): Promise<void> };

/**
 * Starts the embedded ClickHouse store (chDB behind the HTTP interface) as its own process: only
 * that process may load chDB, and only one process may own a data directory.
 */
export async function startStore(opts: {
  dataDir: string;
  port: number;
  readyFile: string;
  onOutput?: (line: string) => void;
  /** In its own process group, so a terminal's Ctrl-C leaves it to the caller to stop it last. */
  detached?: boolean;
}): Promise<TStore> {
  rmSync(opts.readyFile, { force: true });
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      join(ROOT, "apps/controller/src/store/main.ts"),
      "--data-dir",
      opts.dataDir,
      "--port",
      String(opts.port),
      "--ready-file",
      opts.readyFile,
    ],
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], detached: opts.detached ?? false },
  );
  let output = "";
  const collect = (b: Buffer) => {
    const s = b.toString();
    output += s;
    if (opts.onOutput) for (const line of s.split("\n")) if (line) opts.onOutput(line);
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const exited = new Promise<number | null>((res) => child.once("exit", (code) => res(code)));
  const deadline = Date.now() + 120_000;
  while (!existsSync(opts.readyFile)) {
    const code = await Promise.race([exited, sleep(100).then(() => undefined)]);
    if (code !== undefined)
      throw new Error(`the ClickHouse store exited (${code}) before it was ready:\n${output.trim()}`);
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`the ClickHouse store was not ready within 120 s:\n${output.trim()}`);
    }
  }
  const { url } = JSON.parse(readFileSync(opts.readyFile, "utf8")) as { url: string };
  return {
    url,
    child,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
