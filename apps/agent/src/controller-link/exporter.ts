import { randomUUID } from "node:crypto";
import {
  INGEST_TSV_CONTENT_TYPE,
  type TIngestBatch,
  type TIngestResponse,
  type TIngestTable,
  type TIngestTsvHeader,
  ZIngestResponse,
  ZIngestTsvHeader,
} from "@flowplane/protocol";
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
 * How batches go on the wire: `tsv`, the compact encoding (docs/agent-protocol.md, "Ingest wire
 * format": a quarter of JSON's bytes, and the controller writes it without building row objects),
 * or `json`, what every controller reads.
 */
export type TIngestEncoding = "tsv" | "json";

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
  const nl = body.indexOf(10);
  if (nl < 0) throw new Error("compact batch without a header line");
  const h = ZIngestTsvHeader.parse(JSON.parse(body.toString("utf8", 0, nl)));
  const rows = decodeTsvLines(ROW_TABLES[h.table], h.columns, body.toString("utf8", nl + 1));
  if (rows.length !== h.rows)
    throw new Error(`compact batch has ${rows.length} rows; its header says ${h.rows}`);
  return { batchId: h.batchId, agentId: h.agentId, table: h.table, rows };
}

/** The controller does not read the encoding sent (an older one: it names application/json). */
function refusesEncoding(e: ControllerError): boolean {
  return e.status === 415 || (e.status === 400 && /application\/json/.test(e.message) && !e.details.issues);
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
   * Default `tsv`; a controller that refuses it is sent `json` until the endpoint changes or
   * `encodingRetryMs` (default 10 min) has passed, so a rolling upgrade does not pin agents to JSON.
   */
  encoding?: TIngestEncoding;
  encodingRetryMs?: number;
  /** For tests: the clock of the encoding retry. */
  now?: () => number;
  /** For tests: [0,1) source of jitter and the sleeper. */
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
};

/** A batch's request body and its content type. */
export type TEncodedBatch = { body: Buffer | string; contentType: string };

const sleepMs = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class HttpExporter {
  private readonly o: Required<Omit<THttpExporterOptions, "endpoint" | "credential" | "ca" | "encoding">> &
    Pick<THttpExporterOptions, "endpoint" | "credential" | "ca">;
  readonly #preferred: TIngestEncoding;
  /** While set, the endpoint that refused the compact encoding and until when JSON goes to it. */
  #jsonFallback: { endpoint: string; until: number } | undefined;
  readonly counters = {
    batches: 0,
    rows: 0,
    rejectedRows: 0,
    duplicates: 0,
    retries: 0,
    failures: 0,
    deferred: 0,
    /** Times a controller refused the compact encoding and JSON was sent instead. */
    encodingFallbacks: 0,
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
      ...opts,
    };
    this.#preferred = opts.encoding ?? "tsv";
  }

  /** The encoding batches are sent in now (to the current endpoint). */
  get encoding(): TIngestEncoding {
    const f = this.#jsonFallback;
    if (f && (f.endpoint !== this.o.endpoint() || this.o.now() >= f.until)) this.#jsonFallback = undefined;
    return this.#jsonFallback ? "json" : this.#preferred;
  }

  /**
   * One attempt, classified. A controller that does not read the compact encoding (older than it)
   * is sent the same batch as JSON at once, and later ones too while it stays the endpoint (for
   * `encodingRetryMs`).
   */
  async exportOnce(batch: TIngestBatch): Promise<TExportResult> {
    const encoding = this.encoding;
    const r = await this.#attempt(batch, encoding);
    if (r.code === "failure" && encoding === "tsv" && refusesEncoding(r.error)) {
      this.#jsonFallback = { endpoint: this.o.endpoint(), until: this.o.now() + this.o.encodingRetryMs };
      this.counters.encodingFallbacks += 1;
      return this.#attempt(batch, "json");
    }
    return r;
  }

  #attempt(batch: TIngestBatch, encoding: TIngestEncoding): Promise<TExportResult> {
    return this.postOnce(() => {
      // Rows that are not objects cannot be TSV lines: JSON lets the controller reject them by index.
      const tsv = encoding === "tsv" && tsvEncodable(batch);
      return tsv
        ? { body: encodeTsvBatch(batch), contentType: INGEST_TSV_CONTENT_TYPE }
        : { body: JSON.stringify(batch), contentType: "application/json" };
    });
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
  async export(batch: TIngestBatch, opts: { deadlineMs?: number } = {}): Promise<TExportResult> {
    const deadline = Date.now() + (opts.deadlineMs ?? this.o.deadlineMs);
    let attempts = 0;
    for (;;) {
      attempts += 1;
      const r = await this.exportOnce(batch);
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
