import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import zlib from "node:zlib";
import { createLogger } from "@flowplane/core/log";
import { ChdbEngine, type EngineRequest, type QueryOutcome } from "./engine.ts";
import { fromEngineError, type StoreError, storeError } from "./errors.ts";
import {
  BadRequestError,
  insertFormatOf,
  outputFormatOf,
  parseSearchParams,
  renderSetStatements,
} from "./http-request.ts";

export { StoreLockedError } from "./engine.ts";

export interface StoreOptions {
  dataDir: string;
  host?: string;
  port?: number;
  /** Largest request body accepted (after decompression). */
  maxBodyBytes?: number;
  /** Requests waiting or running at once (a few run at a time, see ChdbEngine); more get code 202. */
  maxQueued?: number;
}

export interface RunningStore {
  url: string;
  dataDir: string;
  close(): Promise<void>;
}

const DEFAULT_MAX_BODY = 512 * 1024 * 1024;

// Where chDB's defaults differ from a ClickHouse server's, apply the server's, so code written
// against the store behaves the same with CLICKHOUSE_URL pointing at a real server.
const SERVER_DEFAULT_SETTINGS: ReadonlyArray<[string, string]> = [
  ["output_format_json_quote_64bit_integers", "1"],
];
const log = createLogger("store");

class BodyTooLargeError extends Error {}

/**
 * The embedded ClickHouse: one process owns a chDB data directory and serves the part of
 * ClickHouse's HTTP interface that `@clickhouse/client` uses, so every other process connects by
 * URL exactly as to a ClickHouse server.
 */
export async function startStore(opts: StoreOptions): Promise<RunningStore> {
  const host = opts.host ?? "127.0.0.1";
  const maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY;
  const engine = new ChdbEngine(opts.dataDir);
  if (opts.maxQueued !== undefined) engine.maxQueued = opts.maxQueued;
  let known: Set<string>;
  try {
    known = await engine.settingNames();
  } catch (err) {
    await engine.close();
    throw err;
  }
  const dropSetting = unknownSettingFilter(known);

  const server = http.createServer((req, res) => {
    handle(engine, maxBody, dropSetting, req, res).catch((err: unknown) => {
      log.error({ err }, "store request failed");
      if (!res.headersSent) sendError(res, storeError(500, 1001, String(err), "STD_EXCEPTION"), undefined);
      else res.destroy();
    });
  });
  // Bulk inserts can take a while on 2 cores; the client has its own request timeout.
  server.requestTimeout = 0;
  server.keepAliveTimeout = 10_000;
  server.listen(opts.port ?? 0, host);
  try {
    await once(server, "listening");
  } catch (err) {
    await engine.close();
    throw err;
  }
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;

  let closing: Promise<void> | undefined;
  return {
    url,
    dataDir: engine.dataDir,
    close() {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await engine.close();
        server.closeAllConnections();
        await closed;
      })();
      return closing;
    },
  };
}

/**
 * Settings the engine does not know are dropped, not refused: clients and libraries send settings
 * of newer servers (or of the HTTP layer) that this chDB build lacks. Logged once per name.
 */
function unknownSettingFilter(known: Set<string>): (name: string) => boolean {
  const warned = new Set<string>();
  return (name) => {
    if (known.has(name)) return false;
    if (!warned.has(name)) {
      warned.add(name);
      log.warn({ setting: name }, "ignoring a setting this engine does not know");
    }
    return true;
  };
}

async function handle(
  engine: ChdbEngine,
  maxBody: number,
  dropSetting: (name: string) => boolean,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): Promise<void> {
  const url = new URL(req.url ?? "/", "http://store");
  const isPing =
    url.pathname === "/ping" ||
    (url.pathname === "/" && req.method === "GET" && !url.searchParams.has("query"));
  if (isPing && (req.method === "GET" || req.method === "HEAD")) {
    res.writeHead(200, { "Content-Type": "text/plain; charset=UTF-8" });
    res.end("Ok.\n");
    return;
  }
  if (url.pathname !== "/" || (req.method !== "GET" && req.method !== "POST")) {
    req.resume();
    sendError(
      res,
      storeError(404, 1001, `no handler for ${req.method} ${url.pathname}`, "STD_EXCEPTION"),
      undefined,
    );
    return;
  }

  let parsed: ReturnType<typeof parseSearchParams>;
  try {
    parsed = parseSearchParams(url.searchParams);
  } catch (err) {
    req.resume();
    if (err instanceof BadRequestError)
      return sendError(res, storeError(400, 36, err.message, "BAD_ARGUMENTS"), undefined);
    throw err;
  }
  res.setHeader("X-ClickHouse-Query-Id", parsed.queryId);

  let body: Buffer;
  try {
    body = await readBody(req, maxBody);
  } catch (err) {
    if (err instanceof BodyTooLargeError) {
      return sendError(
        res,
        storeError(
          413,
          36,
          `request body is larger than the store's limit of ${maxBody} bytes: send smaller batches`,
          "BAD_ARGUMENTS",
        ),
        parsed.queryId,
      );
    }
    return sendError(
      res,
      storeError(400, 36, `cannot read request body: ${(err as Error).message}`, "BAD_ARGUMENTS"),
      parsed.queryId,
    );
  }

  // ClickHouse's rule: the query is the URL's `query` followed by the body.
  let sql: string;
  let insertPayload: Buffer | undefined;
  if (parsed.urlQuery !== undefined && body.length > 0 && insertFormatOf(parsed.urlQuery) !== undefined) {
    sql = parsed.urlQuery;
    insertPayload = body;
  } else if (parsed.urlQuery !== undefined) {
    sql = body.length > 0 ? `${parsed.urlQuery}\n${body.toString("utf8")}` : parsed.urlQuery;
  } else {
    sql = body.toString("utf8");
  }
  if (sql.trim() === "") {
    return sendError(res, storeError(400, 62, "Empty query", "SYNTAX_ERROR"), parsed.queryId);
  }

  for (const name of [...parsed.settings.keys()]) {
    if (dropSetting(name)) parsed.settings.delete(name);
  }
  for (const [name, value] of SERVER_DEFAULT_SETTINGS) {
    if (!parsed.settings.has(name)) parsed.settings.set(name, value);
  }
  // As in ClickHouse, a GET cannot change data.
  if (req.method === "GET" && !parsed.settings.has("readonly")) parsed.settings.set("readonly", "2");
  const format = outputFormatOf(sql, parsed.defaultFormat);
  const engineReq: EngineRequest = {
    setStatements: renderSetStatements(parsed.settings),
    database: parsed.database,
    sql,
    format: parsed.defaultFormat,
    params: parsed.params,
    ...(insertPayload ? { insertPayload } : {}),
  };

  let outcome: QueryOutcome;
  try {
    outcome = await engine.run(engineReq, () => res.destroyed || req.socket.destroyed);
  } catch (err) {
    return sendError(res, fromEngineError(err), parsed.queryId);
  }
  res.writeHead(200, {
    "Content-Type": contentTypeOf(format),
    "X-ClickHouse-Format": format,
    "X-ClickHouse-Summary": JSON.stringify(summaryOf(outcome)),
    "Content-Length": String(outcome.body.byteLength),
  });
  res.end(outcome.body);
}

function summaryOf(o: QueryOutcome): Record<string, string> {
  return {
    read_rows: String(o.rowsRead),
    read_bytes: String(o.bytesRead),
    written_rows: String(o.rowsWritten),
    written_bytes: String(o.bytesWritten),
    total_rows_to_read: "0",
    result_rows: o.rowsWritten > 0 ? "0" : String(o.rowsRead),
    result_bytes: String(o.body.byteLength),
    elapsed_ns: String(Math.round(o.elapsedSeconds * 1e9)),
  };
}

function contentTypeOf(format: string): string {
  return /^JSON/i.test(format) && !/EachRow|Lines|Compact|Strings/i.test(format)
    ? "application/json; charset=UTF-8"
    : "text/plain; charset=UTF-8";
}

function sendError(res: http.ServerResponse, e: StoreError, queryId: string | undefined): void {
  const headers: Record<string, string> = {
    "Content-Type": "text/plain; charset=UTF-8",
    "X-ClickHouse-Exception-Code": String(e.code),
  };
  if (queryId) headers["X-ClickHouse-Query-Id"] = queryId;
  res.writeHead(e.status, headers);
  res.end(e.body);
}

/** Reads the whole body, gunzipping if asked, refusing more than `max` bytes (compressed or not). */
async function readBody(req: http.IncomingMessage, max: number): Promise<Buffer> {
  const encoding = (req.headers["content-encoding"] ?? "").toLowerCase();
  let source: NodeJS.ReadableStream = req;
  if (encoding === "gzip" || encoding === "deflate") {
    const inflater = encoding === "gzip" ? zlib.createGunzip() : zlib.createInflate();
    req.on("error", (err) => inflater.destroy(err));
    source = req.pipe(inflater);
  } else if (encoding !== "" && encoding !== "identity") {
    req.resume();
    throw new Error(`unsupported Content-Encoding '${encoding}'`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  for await (const chunk of source as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) tooLarge = true; // keep draining so the client gets our answer, not a reset
    if (!tooLarge) chunks.push(chunk);
  }
  if (tooLarge) throw new BodyTooLargeError();
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
}
