/**
 * Where `run` sends its rows. A sink only knows how to deliver one batch; `BatchingExporter`
 * owns everything around it: a bounded buffer (overflow is dropped and counted, never blocks the
 * packet path), batching by size or by timer, one delivery in flight at a time, retries of
 * retryable failures with the batch kept, and an idempotent flush on shutdown. Until the
 * controller exists the sink is JSONL files (jsonl-sink.ts); the controller issue plugs an HTTP
 * sink in here.
 */

export type Table = "l4_flow_log" | "network_metrics" | "l7_flow_log" | "application_metrics";

export interface ExportRecord {
  table: Table;
  row: Record<string, unknown>;
}

/** Outcome of one delivery: `retryable` keeps the batch for the next attempt. */
export type ExportResult = "success" | "failure" | "retryable";

export interface ExportSink {
  export(batch: ExportRecord[]): Promise<ExportResult>;
  close?(): Promise<void>;
}

export interface ExporterOptions {
  /** Rows held at most; beyond that new rows are dropped and counted. */
  maxBuffer?: number;
  /** Deliver as soon as this many rows are waiting. */
  batchSize?: number;
  /** ...or after this long, whichever comes first. */
  flushIntervalMs?: number;
  /** Wait before retrying a `retryable` batch. */
  retryDelayMs?: number;
}

export interface ExporterStats {
  accepted: number;
  exported: number;
  dropped: number;
  failedBatches: number;
  retries: number;
  buffered: number;
}

const SHUTDOWN_RETRIES = 3;

export class BatchingExporter {
  private buffer: ExportRecord[] = [];
  private inFlight: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed: Promise<void> | undefined;
  private readonly maxBuffer: number;
  private readonly batchSize: number;
  private readonly flushIntervalMs: number;
  private readonly retryDelayMs: number;
  private readonly s: ExporterStats = {
    accepted: 0,
    exported: 0,
    dropped: 0,
    failedBatches: 0,
    retries: 0,
    buffered: 0,
  };

  constructor(
    private readonly sink: ExportSink,
    opts: ExporterOptions = {},
  ) {
    this.maxBuffer = opts.maxBuffer ?? 100_000;
    this.batchSize = opts.batchSize ?? 1_000;
    this.flushIntervalMs = opts.flushIntervalMs ?? 1_000;
    this.retryDelayMs = opts.retryDelayMs ?? 1_000;
  }

  /** Called from the packet path: never blocks, never throws. */
  push(rec: ExportRecord): void {
    if (this.closed || this.buffer.length >= this.maxBuffer) {
      this.s.dropped++;
      return;
    }
    this.buffer.push(rec);
    this.s.accepted++;
    if (this.buffer.length >= this.batchSize) this.kick();
    else if (!this.timer) {
      // unref: a pending batch timer must not keep a finished process alive; close() flushes.
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.kick();
      }, this.flushIntervalMs);
      this.timer.unref();
    }
  }

  stats(): ExporterStats {
    return { ...this.s, buffered: this.buffer.length };
  }

  /** Starts a delivery unless one is in flight (single-flight). */
  private kick(): void {
    if (this.inFlight || this.buffer.length === 0) return;
    this.inFlight = this.drain().finally(() => {
      this.inFlight = undefined;
      if (this.buffer.length >= this.batchSize) this.kick();
    });
  }

  private async drain(): Promise<void> {
    let shutdownAttempts = 0;
    while (this.buffer.length > 0) {
      const batch = this.buffer.slice(0, this.batchSize);
      let result: ExportResult;
      try {
        result = await this.sink.export(batch);
      } catch {
        result = "retryable";
      }
      // While running, a retryable batch waits as long as it takes (the buffer bound protects
      // memory); on shutdown it gets a few more tries, then counts as dropped.
      if (result === "retryable" && (!this.closed || ++shutdownAttempts <= SHUTDOWN_RETRIES)) {
        this.s.retries++;
        await new Promise((r) => setTimeout(r, this.retryDelayMs).unref());
        continue;
      }
      this.buffer.splice(0, batch.length);
      shutdownAttempts = 0;
      if (result === "success") this.s.exported += batch.length;
      else {
        this.s.failedBatches++;
        this.s.dropped += batch.length;
      }
      if (this.buffer.length < this.batchSize && !this.closed) return;
    }
  }

  /** Delivers everything buffered, once: later calls return the same promise. */
  flush(): Promise<void> {
    if (this.closed) return this.closed;
    this.closed = (async () => {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      while (this.inFlight) await this.inFlight;
      await this.drain();
      await this.sink.close?.();
    })();
    return this.closed;
  }
}
