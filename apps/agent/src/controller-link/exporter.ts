import { randomUUID } from "node:crypto";
import {
  INGEST_NATIVE_CONTENT_TYPE,
  INGEST_NATIVE_TABLES,
  INGEST_TSV_CONTENT_TYPE,
  INGEST_TSV_MEDIA_TYPE,
  type TIngestBatch,
  type TIngestNativeHeader,
  type TIngestResponse,
  type TIngestTable,
  type TIngestTsvHeader,
  ZIngestNativeHeader,
  ZIngestResponse,
  ZIngestTsvHeader,
} from "@flowplane/protocol";
import { decodeNativeBlock, encodeNativeBlock } from "@flowplane/query/native-block";
import { decodeTsvLines, encodeTsvLines, ROW_TABLES, wireColumns } from "@flowplane/query/rows";
import type { CredentialHolder } from "./credential.ts";
import { ControllerError } from "./errors.ts";
import { joinUrl, postBody } from "./http.ts";

/**
 * The outcome of one export, as in OpenTelemetry's exporter contract:
 * - success: the controller has the batch (some rows may be listed as rejected: they were invalid
 *   and will never be accepted; the valid rows are stored);
 * - failure: resending this batch cannot succeed (malformed, too large, credential refused);
 * - retryable: nothing is known to be stored; keep the batch (spool) and send it again later,
 *   unchanged: its batchId makes a second delivery harmless.
 */
export type TExportResult =
  | { code: "success"; response: TIngestResponse; attempts: number }
  | { code: "failure"; error: ControllerError; attempts: number }
  | { code: "retryable"; error: ControllerError; attempts: number; retryAfterS?: number };

/** A batch with its id fixed once: every retry and every replay from the spool reuses it. */
export function makeBatch(
  agentId: string,
  table: TIngestTable,
  rows: Record<string, unknown>[],
): TIngestBatch {
  return { batchId: randomUUID(), agentId, table, rows };
}

/**
 * How batches go on the wire, best first: `native`, one ClickHouse Native block after a JSON header
 * line (docs/agent-protocol.md, "Native blocks": the controller checks columns and hands the block
 * to the store as it came), only for the tables that have a Native wire form; `tsv`, the compact
 * encoding ("Ingest wire format": a quarter of JSON's bytes, written without building row objects);
 * `json`, what every controller reads.
 */
export type TIngestEncoding = "native" | "tsv" | "json";
const RANK: Record<TIngestEncoding, number> = { native: 0, tsv: 1, json: 2 };
const NATIVE_TABLES: ReadonlySet<string> = new Set(INGEST_NATIVE_TABLES);

/** A batch in the Native encoding: its JSON header line, then one block. Throws NativeEncodeError. */
export function encodeNativeBatch(batch: TIngestBatch): Buffer {
  const header: TIngestNativeHeader = {
    batchId: batch.batchId,
    agentId: batch.agentId,
    table: batch.table,
    rows: batch.rows.length,
  };
  // The header line is written into the block's buffer ahead of it: one buffer, no copy.
  return encodeNativeBlock(batch.table, batch.rows as Record<string, unknown>[], {
    prefix: Buffer.from(`${JSON.stringify(header)}\n`),
  });
}

/** `encodeNativeBatch` undone (spool replays): throws when the body is not a whole Native batch. */
export function decodeNativeBatch(body: Buffer): TIngestBatch {
  return decodeBatch(body, "Native batch", ZIngestNativeHeader, (h, at) =>
    decodeNativeBlock(h.table, body.subarray(at)),
  );
}

/**
 * A spooled body back to its batch: the JSON header line read with `schema`, the rows after it
 * read by `rowsAt` (from the byte after the newline), their count checked against the header's.
 */
function decodeBatch<H extends { batchId: string; agentId: string; table: TIngestTable; rows: number }>(
  body: Buffer,
  what: string,
  schema: { parse(v: unknown): H },
  rowsAt: (header: H, at: number) => unknown[],
): TIngestBatch {
  const nl = body.indexOf(10);
  if (nl < 0) throw new Error(`${what} without a header line`);
  const h = schema.parse(JSON.parse(body.toString("utf8", 0, nl)));
  const rows = rowsAt(h, nl + 1);
  if (rows.length !== h.rows) throw new Error(`${what} has ${rows.length} rows; its header says ${h.rows}`);
  return { batchId: h.batchId, agentId: h.agentId, table: h.table, rows };
}

/** A batch in the compact encoding: its JSON header line, then one TSV line per row. */
export function encodeTsvBatch(batch: TIngestBatch): Buffer {
  const columns = wireColumns(ROW_TABLES[batch.table]);
  const header: TIngestTsvHeader = {
    batchId: batch.batchId,
    agentId: batch.agentId,
    table: batch.table,
    rows: batch.rows.length,
    columns,
  };
  return Buffer.from(
    `${JSON.stringify(header)}\n${encodeTsvLines(ROW_TABLES[batch.table], columns, batch.rows as Record<string, unknown>[])}`,
  );
}

/** Whether a batch can go in the compact encoding: rows that are not objects cannot be TSV lines. */
export function tsvEncodable(batch: TIngestBatch): boolean {
  return batch.rows.every((r) => r !== null && typeof r === "object" && !Array.isArray(r));
}

/** `encodeTsvBatch` undone (spool replays): throws when the body is not a whole compact batch. */
export function decodeTsvBatch(body: Buffer): TIngestBatch {
  return decodeBatch(body, "compact batch", ZIngestTsvHeader, (h, at) =>
    decodeTsvLines(ROW_TABLES[h.table], h.columns, body.toString("utf8", at)),
  );
}

/**
 * The encoding `batch` goes in when `wanted` is asked for: Native only for a table with a Native wire
 * form, and JSON whatever was asked when rows are not objects (they cannot be TSV lines or block
 * rows; JSON lets the controller reject them by index).
 */
export function effectiveEncoding(batch: TIngestBatch, wanted: TIngestEncoding): TIngestEncoding {
  if (wanted === "json" || !tsvEncodable(batch)) return "json";
  return wanted === "native" && NATIVE_TABLES.has(batch.table) ? "native" : "tsv";
}

/** A body already encoded (a spooled file), used when the batch goes in that encoding. */
export type TPreparedBody = { encoding: TIngestEncoding; body: Buffer };

/**
 * The controller does not read the encoding sent: 415, or 400 naming the encodings it reads (an
 * older controller: "this controller reads application/json and application/vnd.flowplane.ingest+tsv").
 */
function refusesEncoding(e: ControllerError): boolean {
  return (
    e.status === 415 ||
    (e.status === 400 &&
      !e.details.issues &&
      (/application\/json/.test(e.message) || e.message.includes(INGEST_TSV_MEDIA_TYPE)))
  );
}

/** One structured line about a batch, for the agent's log (every line carries the agent id). */
export type TExporterEvent = {
  level: "warn" | "error";
  msg: string;
  agentId: string;
  batchId?: string;
  table?: string;
  rows?: number;
  endpoint?: string;
  error?: string;
};

/** The default log: one JSON line on stderr, where the agent writes its other lines (it has no logger dependency). */
function stderrEvent(e: TExporterEvent): void {
  process.stderr.write(
    `${JSON.stringify({ time: new Date().toISOString(), component: "agent-exporter", ...e })}\n`,
  );
}

export type THttpExporterOptions = {
  /** Where to send: the assigned data node from sync, or the controller. Read at every attempt. */
  endpoint: () => string;
  credential: CredentialHolder;
  /** Per request. */
  timeoutMs?: number;
  /** Total time one export() may spend, retries included. */
  deadlineMs?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** PEM of a private CA for an https endpoint. */
  ca?: string | Buffer;
  /**
   * Default `native` (TSV for tables without a Native wire form); a controller that refuses it is
   * sent the next one (`tsv`, then `json`) until the endpoint changes or `encodingRetryMs` (default
   * 10 min) has passed, so a rolling upgrade does not pin agents to an older encoding.
   */
  encoding?: TIngestEncoding;
  encodingRetryMs?: number;
  /** Where batch-level trouble is told (a Native encode error, an encoding fallback); default stderr. */
  log?: (event: TExporterEvent) => void;
  /** For tests: the clock of the encoding retry. */
  now?: () => number;
  /** For tests: [0,1) source of jitter and the sleeper. */
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
};

/** A batch's request body and its content type. */
export type TEncodedBatch = { body: Buffer | string; contentType: string };

const CONTENT_TYPES: Record<TIngestEncoding, string> = {
  native: INGEST_NATIVE_CONTENT_TYPE,
  tsv: INGEST_TSV_CONTENT_TYPE,
  json: "application/json",
};
function withType(body: Buffer | string, encoding: TIngestEncoding): TEncodedBatch {
  return { body, contentType: CONTENT_TYPES[encoding] };
}
function about(batch: TIngestBatch) {
  return { agentId: batch.agentId, batchId: batch.batchId, table: batch.table, rows: batch.rows.length };
}

const sleepMs = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class HttpExporter {
  private readonly o: Required<Omit<THttpExporterOptions, "endpoint" | "credential" | "ca" | "encoding">> &
    Pick<THttpExporterOptions, "endpoint" | "credential" | "ca">;
  readonly #preferred: TIngestEncoding;
  /** While set, the endpoint that refused a better encoding, the one it is sent instead, and until when. */
  #fallback: { endpoint: string; until: number; encoding: TIngestEncoding } | undefined;
  /** The last batch whose Native encode failed: told once though the spool encodes it again. */
  #lastEncodeError: string | undefined;
  readonly counters = {
    batches: 0,
    rows: 0,
    rejectedRows: 0,
    duplicates: 0,
    retries: 0,
    failures: 0,
    deferred: 0,
    /** Times a controller refused an encoding (Native or TSV) and the next one was sent instead. */
    encodingFallbacks: 0,
    /** Batches whose Native encode failed (a value that does not fit its column: an agent bug), sent as TSV. */
    nativeEncodeErrors: 0,
    /** Native batches a controller refused as malformed (400), sent again as TSV to keep the valid rows. */
    nativeRefused: 0,
  };

  constructor(opts: THttpExporterOptions) {
    this.o = {
      timeoutMs: 10_000,
      deadlineMs: 30_000,
      baseDelayMs: 200,
      maxDelayMs: 10_000,
      random: Math.random,
      sleep: sleepMs,
      encodingRetryMs: 600_000,
      now: Date.now,
      log: stderrEvent,
      ...opts,
    };
    this.#preferred = opts.encoding ?? "native";
  }

  /** The encoding batches are sent in now (to the current endpoint; TSV for tables without a Native form). */
  get encoding(): TIngestEncoding {
    const f = this.#fallback;
    if (f && (f.endpoint !== this.o.endpoint() || this.o.now() >= f.until)) this.#fallback = undefined;
    return this.#fallback && RANK[this.#fallback.encoding] > RANK[this.#preferred]
      ? this.#fallback.encoding
      : this.#preferred;
  }

  /**
   * `batch` as a request body in the encoding it goes in when `wanted` is asked for (a `prepared`
   * body of that encoding as it is). A batch whose Native encode fails (a value that does not fit its
   * column: an agent bug) is not lost: it is told and counted once, and goes as TSV, which the
   * controller checks row by row, keeping the valid rows.
   */
  encode(
    batch: TIngestBatch,
    wanted: TIngestEncoding = this.encoding,
    prepared?: TPreparedBody,
  ): TEncodedBatch & { encoding: TIngestEncoding } {
    let encoding = effectiveEncoding(batch, wanted);
    if (prepared?.encoding === encoding) return { ...withType(prepared.body, encoding), encoding };
    if (encoding === "native") {
      try {
        return { ...withType(encodeNativeBatch(batch), "native"), encoding };
      } catch (err) {
        if (this.#lastEncodeError !== batch.batchId) {
          this.#lastEncodeError = batch.batchId;
          this.counters.nativeEncodeErrors += 1;
          this.o.log({
            level: "error",
            msg: "Native encode failed (an agent bug): the batch goes as TSV, the controller keeps its valid rows",
            ...about(batch),
            error: `${(err as Error).name}: ${(err as Error).message}`,
          });
        }
        encoding = "tsv";
        if (prepared?.encoding === "tsv") return { ...withType(prepared.body, "tsv"), encoding };
      }
    }
    return {
      ...withType(encoding === "tsv" ? encodeTsvBatch(batch) : JSON.stringify(batch), encoding),
      encoding,
    };
  }

  /**
   * One attempt, classified. A controller that does not read the encoding sent (older than it) is
   * sent the same batch in the next one at once (Native, then TSV, then JSON), and later batches too
   * while it stays the endpoint (for `encodingRetryMs`). A Native batch refused as malformed (400: an
   * agent bug the encoder did not catch) is sent again as TSV, once, so its valid rows are kept.
   */
  async exportOnce(batch: TIngestBatch, prepared?: TPreparedBody): Promise<TExportResult> {
    let wanted = this.encoding;
    let retriedMalformed = false;
    for (;;) {
      const { r, sent } = await this.#attempt(batch, wanted, prepared);
      if (r.code !== "failure" || sent === "json") return r;
      const next: TIngestEncoding = sent === "native" ? "tsv" : "json";
      if (refusesEncoding(r.error)) {
        this.#fallback = {
          endpoint: this.o.endpoint(),
          until: this.o.now() + this.o.encodingRetryMs,
          encoding: next,
        };
        this.counters.encodingFallbacks += 1;
        this.o.log({
          level: "warn",
          msg: `the controller does not read ${sent}: sending ${next} to this endpoint`,
          ...about(batch),
          endpoint: this.o.endpoint(),
          error: r.error.message,
        });
        wanted = next;
        continue;
      }
      if (sent === "native" && r.error.status === 400 && !retriedMalformed) {
        retriedMalformed = true;
        this.counters.nativeRefused += 1;
        this.o.log({
          level: "error",
          msg: "the controller refused a Native block (an agent bug): the batch goes again as TSV",
          ...about(batch),
          error: r.error.message,
        });
        wanted = "tsv";
        continue;
      }
      return r;
    }
  }

  async #attempt(
    batch: TIngestBatch,
    wanted: TIngestEncoding,
    prepared: TPreparedBody | undefined,
  ): Promise<{ r: TExportResult; sent: TIngestEncoding }> {
    let sent = effectiveEncoding(batch, wanted);
    const r = await this.postOnce(() => {
      const e = this.encode(batch, wanted, prepared);
      sent = e.encoding;
      return e;
    });
    return { r, sent };
  }

  /**
   * One POST of the body `encode` gives, classified (an encoding error too, as before). The
   * ingest bench's sender passes bodies it encoded before its timed window.
   */
  protected async postOnce(encode: () => TEncodedBatch): Promise<TExportResult> {
    const sentWith = this.o.credential.get();
    try {
      const { body, contentType } = encode();
      const response = await postBody(
        joinUrl(this.o.endpoint(), "/v1/ingest"),
        body,
        contentType,
        ZIngestResponse,
        {
          headers: { authorization: `Bearer ${sentWith.credential}` },
          timeoutMs: this.o.timeoutMs,
          ...(this.o.ca ? { ca: this.o.ca } : {}),
        },
      );
      return { code: "success", response, attempts: 1 };
    } catch (err) {
      const e =
        err instanceof ControllerError
          ? err
          : new ControllerError(0, "NETWORK", (err as Error).message ?? String(err));
      // A rotation landed while this request was in flight: the old credential may be gone
      // already, the new one is not. Worth an immediate retry, not a failure.
      if (e.status === 401 && this.o.credential.get().generation !== sentWith.generation) {
        return { code: "retryable", error: e, attempts: 1, retryAfterS: 0 };
      }
      if (e.retryable) {
        return {
          code: "retryable",
          error: e,
          attempts: 1,
          ...(e.details.retryAfterS !== undefined ? { retryAfterS: e.details.retryAfterS } : {}),
        };
      }
      return { code: "failure", error: e, attempts: 1 };
    }
  }

  /**
   * Sends `batch` until it is stored, refused for good, or the deadline is near. Waits between
   * attempts grow exponentially with full jitter (agents that failed together do not return
   * together) and are never shorter than the controller's Retry-After; a wait that would end past
   * the deadline is not started: the batch is handed back as retryable for the spool instead.
   */
  async export(
    batch: TIngestBatch,
    opts: { deadlineMs?: number; prepared?: TPreparedBody } = {},
  ): Promise<TExportResult> {
    const deadline = Date.now() + (opts.deadlineMs ?? this.o.deadlineMs);
    let attempts = 0;
    for (;;) {
      attempts += 1;
      const r = await this.exportOnce(batch, opts.prepared);
      if (r.code === "success") {
        this.counters.batches += 1;
        this.counters.rows += r.response.accepted;
        this.counters.rejectedRows += r.response.rejected.length;
        if (r.response.duplicate) this.counters.duplicates += 1;
        return { ...r, attempts };
      }
      if (r.code === "failure") {
        this.counters.failures += 1;
        return { ...r, attempts };
      }
      const backoff = Math.min(this.o.maxDelayMs, this.o.baseDelayMs * 2 ** (attempts - 1)) * this.o.random();
      const wait = Math.max(backoff, (r.retryAfterS ?? 0) * 1000);
      if (Date.now() + wait >= deadline) {
        this.counters.deferred += 1;
        return { ...r, attempts };
      }
      this.counters.retries += 1;
      await this.o.sleep(wait);
    }
  }
}
