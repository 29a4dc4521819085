import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { type FileHandle, open, unlink } from "node:fs/promises";
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import path from "node:path";

/**
 * The one place that loads chDB. Only the store process imports this module; every other
 * process talks to the store over HTTP like to a ClickHouse server.
 *
 * We call chDB's native addon for bound queries and raw inserts because the HTTP wire form of a
 * `param_<name>` value is already ClickHouse's Escaped text, and that is exactly what the addon
 * binds. chDB's public `queryBindAsync` takes JS values and re-escapes them, which would corrupt
 * composite values such as `['a\'b']`. The public `Session` still owns connection lifecycle.
 */

interface NativeResult {
  bytes: Uint8Array;
  elapsed: number;
  rowsRead: number;
  bytesRead: number;
}
interface NativeInsertResult {
  elapsed: number;
  rowsWritten: number;
  bytesWritten: number;
  rowsSent?: number;
}
interface ChdbNative {
  QueryAsyncConnection(
    conn: unknown,
    sql: string,
    format: string,
    params?: Record<string, string>,
  ): Promise<NativeResult>;
  InsertRawAsyncConnection(
    conn: unknown,
    prefix: string,
    payload: Buffer,
    countLines: boolean,
  ): Promise<NativeInsertResult>;
}
interface ChdbSession {
  connection: unknown;
  close(): void;
}
interface ChdbModule {
  Session: new (dir: string) => ChdbSession;
  drainPending(): Promise<void>;
}

const require = createRequire(import.meta.url);

function loadChdb(): { chdb: ChdbModule; native: ChdbNative } {
  const chdb = require("chdb") as ChdbModule;
  // Resolved by file path: the loader is not in chdb's `exports` map. Node caches the addon, so
  // this is the same native instance the public API uses.
  const loaderPath = path.join(path.dirname(require.resolve("chdb")), "dist", "loader.js");
  const native = (require(loaderPath) as { loadNative(): ChdbNative }).loadNative();
  for (const fn of ["QueryAsyncConnection", "InsertRawAsyncConnection"] as const) {
    if (typeof native[fn] !== "function") {
      throw new Error(`chdb native addon lacks ${fn}: the store needs chdb 3.4.x`);
    }
  }
  return { chdb, native };
}

export class StoreLockedError extends Error {
  override name = "StoreLockedError";
}

export interface QueryOutcome {
  body: Uint8Array;
  rowsRead: number;
  bytesRead: number;
  rowsWritten: number;
  bytesWritten: number;
  elapsedSeconds: number;
}

/** What one HTTP request asks of the engine. */
export interface EngineRequest {
  /** SET statements to apply first, already validated and rendered. */
  setStatements: string[];
  database: string | undefined;
  sql: string;
  format: string;
  /** Escaped-format text per placeholder name, as received on the wire. */
  params: Record<string, string>;
  /** For INSERT ... FORMAT: the data, passed to the engine without copying into a string. */
  insertPayload?: Buffer;
}

/**
 * Owns one data directory. chDB runs work off the event loop, but one engine per process is
 * shared state: requests run on a few lanes at once (`concurrency`, first come first served), each
 * on a fresh connection so that per-request SET / USE never leak into another request. A fresh
 * connection on an already-open directory costs about a millisecond. One lane left a core idle:
 * an insert runs mostly on one thread, and the ingest path sends the next insert while one runs;
 * two lanes stored 200 k rows in 8 inserts 1.3-1.5x faster (docs/notes/ingest-pipeline-session6.md),
 * and a slow console query no longer holds up every insert behind it. Concurrent sessions keep
 * their own settings: 40 s of three insert lanes beside two `readonly = 2` query lanes stored
 * every row, with no error on either side.
 */
/** Directories opened by this process: chDB would silently share one between two stores. */
const openDirs = new Set<string>();

export class ChdbEngine {
  readonly dataDir: string;
  private readonly chdb: ChdbModule;
  private readonly native: ChdbNative;
  private readonly anchor: ChdbSession;
  private closed = false;
  /** Where an insert's payload is written for `FROM INFILE` (see `runNow`); emptied at start. */
  private readonly spoolDir: string;
  /**
   * Each lane's spool file is reused by every insert on that lane and emptied after each: a file
   * created and unlinked per insert costs the create (on an ext4 without a journal, a scan for
   * recently deleted inodes that grows with the deletes before it) for nothing.
   */
  private readonly lanes: Lane[];
  /** Requests waiting for a lane, oldest first. */
  private readonly waiting: ((lane: Lane) => void)[] = [];
  /** Requests admitted and not finished (waiting or running), for `close`. */
  private readonly pending = new Set<Promise<unknown>>();

  constructor(dataDir: string, opts: { concurrency?: number } = {}) {
    this.dataDir = path.resolve(dataDir);
    // Checked before opening: the engine prints its own lock failure on stderr, and a vague
    // "Failed to create connection" is all that reaches JS.
    if (openDirs.has(this.dataDir)) throw lockedError(this.dataDir, process.pid);
    const owner = liveOwnerOf(this.dataDir);
    if (owner !== undefined) throw lockedError(this.dataDir, owner);
    const { chdb, native } = loadChdb();
    this.chdb = chdb;
    this.native = native;
    try {
      // The anchor session holds the directory lock for the store's lifetime.
      this.anchor = new chdb.Session(this.dataDir);
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      if (/Cannot lock file|already running/i.test(msg))
        throw lockedError(this.dataDir, liveOwnerOf(this.dataDir));
      throw err;
    }
    openDirs.add(this.dataDir);
    this.spoolDir = path.join(this.dataDir, "insert-spool");
    // Payloads of inserts that were running when a previous store died: nobody waits for them.
    for (const name of safeReaddir(this.spoolDir)) rmSync(path.join(this.spoolDir, name), { force: true });
    mkdirSync(this.spoolDir, { recursive: true });
    const lanes = Math.max(1, Math.floor(opts.concurrency ?? DEFAULT_CONCURRENCY));
    this.lanes = Array.from({ length: lanes }, (_, i) => ({
      busy: false,
      spoolFile: path.join(this.spoolDir, `${process.pid}-${i}.data`),
      spool: undefined,
    }));
  }

  /** Requests waiting or running; past `maxQueued` new ones are refused like a busy server. */
  private queued = 0;
  maxQueued = 256;

  /**
   * Runs on the first free lane, after every request queued before it has started. `abandoned` is
   * checked when its turn comes: work for a client that already hung up is skipped.
   */
  run(req: EngineRequest, abandoned: () => boolean = () => false): Promise<QueryOutcome> {
    if (this.closed) return Promise.reject(new Error("store is closing"));
    if (this.queued >= this.maxQueued) {
      return Promise.reject(
        new Error(
          `Code: 202. DB::Exception: Too many simultaneous queries: ${this.queued} are queued in the store. (TOO_MANY_SIMULTANEOUS_QUERIES)`,
        ),
      );
    }
    this.queued++;
    const done = this.lane().then(async (lane) => {
      try {
        if (abandoned()) throw new Error("client closed the connection before its query ran");
        return await this.runNow(req, lane);
      } finally {
        this.freeLane(lane);
      }
    });
    const tracked = done
      .catch(() => undefined)
      .finally(() => {
        this.queued--;
        this.pending.delete(tracked);
      });
    this.pending.add(tracked);
    return done;
  }

  private lane(): Promise<Lane> {
    const free = this.waiting.length === 0 ? this.lanes.find((l) => !l.busy) : undefined;
    if (free) {
      free.busy = true;
      return Promise.resolve(free);
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Hands the lane to the oldest waiting request, or marks it free. */
  private freeLane(lane: Lane): void {
    const next = this.waiting.shift();
    if (next) next(lane);
    else lane.busy = false;
  }

  private async runNow(req: EngineRequest, lane: Lane): Promise<QueryOutcome> {
    const session = new this.chdb.Session(this.dataDir);
    try {
      const conn = session.connection;
      for (const stmt of req.setStatements) {
        await this.native.QueryAsyncConnection(conn, stmt, "TabSeparated");
      }
      if (req.database !== undefined) {
        await this.native.QueryAsyncConnection(conn, `USE ${quoteIdentifier(req.database)}`, "TabSeparated");
      }
      const infile = req.insertPayload !== undefined ? infileInsert(req.sql) : undefined;
      if (req.insertPayload !== undefined && infile !== undefined) {
        // The same bytes read by the engine from a file cost it far less CPU than handed over inline
        // (InsertRawAsyncConnection: the payload rides behind the query text): 50 000-row L4 TSV
        // inserts 0.40-0.53 CPU s per 100 k rows from a file against 0.68-0.77 inline, 10 000-row
        // 0.77-1.04 against 1.04-1.31, the write to the file included (docs/benchmarks.md, "Ingest,
        // session 4"); no setting of the inline path closed the gap. A file also takes binary
        // formats (RowBinary, Native), which the inline path cuts at their first NUL byte.
        const spool = await spoolHandle(lane);
        try {
          await writeAll(spool, req.insertPayload);
          const r = await this.native.QueryAsyncConnection(conn, infile(lane.spoolFile), "TabSeparated");
          // The engine reports the rows it read from the file, not those written (views included).
          return {
            body: new Uint8Array(0),
            rowsRead: r.rowsRead,
            bytesRead: req.insertPayload.length,
            rowsWritten: r.rowsRead,
            bytesWritten: r.bytesRead,
            elapsedSeconds: r.elapsed,
          };
        } finally {
          // Emptied, not left holding the payload until the next insert; a handle that failed is
          // dropped and the file opened afresh by the next insert.
          await spool.truncate(0).catch(() => dropSpool(lane));
        }
      }
      if (req.insertPayload !== undefined) {
        const r = await this.native.InsertRawAsyncConnection(conn, req.sql, req.insertPayload, false);
        return {
          body: new Uint8Array(0),
          rowsRead: r.rowsWritten,
          bytesRead: req.insertPayload.length,
          rowsWritten: r.rowsWritten,
          bytesWritten: r.bytesWritten,
          elapsedSeconds: r.elapsed,
        };
      }
      const hasParams = Object.keys(req.params).length > 0;
      const r = hasParams
        ? await this.native.QueryAsyncConnection(conn, req.sql, req.format, req.params)
        : await this.native.QueryAsyncConnection(conn, req.sql, req.format);
      return {
        body: r.bytes,
        rowsRead: r.rowsRead,
        bytesRead: r.bytesRead,
        rowsWritten: 0,
        bytesWritten: 0,
        elapsedSeconds: r.elapsed,
      };
    } finally {
      session.close();
    }
  }

  /** Names of the settings this engine knows (queried once, at start). */
  async settingNames(): Promise<Set<string>> {
    const r = await this.native.QueryAsyncConnection(
      this.anchor.connection,
      "SELECT name FROM system.settings",
      "TabSeparated",
    );
    return new Set(Buffer.from(r.bytes).toString("utf8").split("\n").filter(Boolean));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.pending);
    for (const lane of this.lanes) {
      await dropSpool(lane);
      await unlink(lane.spoolFile).catch(() => undefined);
    }
    this.anchor.close();
    await this.chdb.drainPending();
    openDirs.delete(this.dataDir);
  }
}

/**
 * Lanes by default: every core, at least two (one insert running while the next one's payload is
 * written, or a query beside an insert) and at most eight.
 */
const DEFAULT_CONCURRENCY = Math.min(8, Math.max(2, availableParallelism()));

/** A place for one request to run: a spool file of its own, reused by its inserts. */
interface Lane {
  busy: boolean;
  readonly spoolFile: string;
  spool: FileHandle | undefined;
}

async function spoolHandle(lane: Lane): Promise<FileHandle> {
  lane.spool ??= await open(lane.spoolFile, "w");
  return lane.spool;
}

async function dropSpool(lane: Lane): Promise<void> {
  const spool = lane.spool;
  lane.spool = undefined;
  await spool?.close().catch(() => undefined);
}

function lockedError(dir: string, pid: number | undefined): StoreLockedError {
  const who = pid === undefined ? "another process" : `process ${pid}`;
  return new StoreLockedError(
    `ClickHouse data directory ${dir} is already used by ${who} (chDB allows one process per directory): stop that store, or point CLICKHOUSE_URL at it instead of starting another`,
  );
}

/** The PID in the engine's `status` file when that process is alive and is not us. */
function liveOwnerOf(dir: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(path.join(dir, "status"), "utf8");
  } catch {
    return undefined;
  }
  const pid = Number(/^PID:\s*(\d+)/m.exec(text)?.[1]);
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return undefined;
  try {
    process.kill(pid, 0);
    // A crashed store leaves its status file behind and its PID may be reused by anything: the
    // owner started before it wrote the file and runs an engine host.
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    if (!/node|bun|deno|clickhouse|chdb|python/i.test(cmdline)) return undefined;
    const started = processStartMs(pid);
    const written = statSync(path.join(dir, "status")).mtimeMs;
    return started !== undefined && started > written + 1_000 ? undefined : pid;
  } catch (err) {
    // EPERM: alive but owned by another user.
    return (err as NodeJS.ErrnoException).code === "EPERM" ? pid : undefined;
  }
}

/** When a process started (ms since the epoch), from /proc; undefined where /proc says nothing. */
function processStartMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the parenthesised command name; starttime is field 22 overall.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[19]);
    const btime = Number(/^btime\s+(\d+)/m.exec(readFileSync("/proc/stat", "utf8"))?.[1]);
    if (!Number.isFinite(ticks) || !Number.isFinite(btime)) return undefined;
    return btime * 1000 + (ticks / 100) * 1000; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}

const IDENT = String.raw`(?:[A-Za-z_][A-Za-z0-9_]*|\`(?:[^\`\\]|\\.)*\`)`;
/**
 * `INSERT INTO [TABLE] [db.]t [(columns)] FORMAT X`, the shape `@clickhouse/client` sends: only
 * that shape is rewritten to read its data from a file. Anything else (a SETTINGS clause, which
 * would have to follow INFILE, an INSERT ... SELECT) goes inline as sent.
 */
const PLAIN_INSERT = new RegExp(
  String.raw`^(\s*INSERT\s+INTO\s+(?:TABLE\s+)?${IDENT}(?:\s*\.\s*${IDENT})?\s*(?:\([^()'"]*\))?)\s*(FORMAT\s+[A-Za-z0-9_]+)\s*;?\s*$`,
  "i",
);

/** The insert reading its data from a file, or undefined when `sql` is not a plain insert. */
export function infileInsert(sql: string): ((file: string) => string) | undefined {
  const m = PLAIN_INSERT.exec(sql);
  if (!m) return undefined;
  const [, head, format] = m;
  // The spool path is ours (no quote in it); escaped all the same, and never decompressed by name.
  return (file) =>
    `${head?.trimEnd()} FROM INFILE '${file.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}' COMPRESSION 'none' ${format}`;
}

/** The whole buffer at the file's start (a positional write may write less than asked). */
async function writeAll(file: FileHandle, data: Buffer): Promise<void> {
  for (let at = 0; at < data.length; ) {
    const { bytesWritten } = await file.write(data, at, data.length - at, at);
    at += bytesWritten;
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Backquoted identifier with ClickHouse escaping, so a database name is never spliced raw. */
export function quoteIdentifier(name: string): string {
  return `\`${name.replace(/\\/g, "\\\\").replace(/`/g, "\\`")}\``;
}
