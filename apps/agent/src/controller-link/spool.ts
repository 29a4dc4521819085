import { mkdir, open, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { type TIngestBatch, ZIngestBatch } from "@flowplane/protocol";
import {
  decodeNativeBatch,
  decodeTsvBatch,
  effectiveEncoding,
  encodeNativeBatch,
  encodeTsvBatch,
  type HttpExporter,
  type TExportResult,
  type TIngestEncoding,
  type TPreparedBody,
} from "./exporter.ts";

/**
 * `.native`: a Native batch (header line + block), for the tables that have a Native form; `.tsv`:
 * the compact encoding (a quarter of JSON's bytes; other tables, or an endpoint that does not read
 * Native); `.json`: older spools, odd rows.
 */
const FILE_RE = /^(\d{16})-([0-9a-f-]{36})\.(json|tsv|native)$/;

type TEntry = { file: string; seq: number; batchId: string; bytes: number };

/**
 * A bounded on-disk queue of batches no data node took. Each batch is one file named by a
 * sequence number and its batchId, written to a temporary name, fsynced and renamed, so a crash
 * leaves whole batches or nothing. Past `maxBytes` the oldest batches are dropped (fresh telemetry
 * is worth more than old) and counted. Replays resend a batch with its original batchId: a batch
 * that was stored before the crash is answered `duplicate` by the controller, never counted twice.
 *
 * A batch is kept as the body the exporter would send now (`.native` where the endpoint reads
 * Native, else `.tsv`; `.json` for rows that are neither), and replayed through the exporter in
 * whichever encoding the controller reads by then. Why the body and not always the rows' TSV form:
 * a replay follows an outage, when a node takes many batches at once, and a `.native` file goes to
 * a controller that reads Native byte for byte as written (the cheapest insert the controller has)
 * instead of being re-encoded from TSV; only a replay to a controller that stopped reading Native
 * (an older node took over) turns the block back into rows (`decodeNativeBlock`, which gives the
 * rows that encode to the same block) and sends TSV. Every file is decoded before it is sent either
 * way: the exporter needs the rows for that fallback and the send-rate gate counts them, and a file
 * that does not decode is dropped and counted instead of sent. The cost: a block is about 20 % more
 * bytes than its TSV lines, so the byte bound holds a fifth fewer L4 rows.
 */
export class DiskSpool {
  private entries: TEntry[] = [];
  private seq = 0;
  private totalBytes = 0;
  readonly counters = {
    spooledBatches: 0,
    replayedBatches: 0,
    droppedBatches: 0,
    droppedBytes: 0,
    failedBatches: 0,
  };

  private constructor(
    readonly dir: string,
    readonly maxBytes: number,
  ) {}

  /** Opens (or creates) the spool in `dir`, picking up batches left by an earlier run. */
  static async open(dir: string, maxBytes: number): Promise<DiskSpool> {
    const spool = new DiskSpool(dir, maxBytes);
    await mkdir(dir, { recursive: true });
    for (const file of (await readdir(dir)).sort()) {
      const m = FILE_RE.exec(file);
      if (!m) {
        if (file.endsWith(".tmp")) await rm(join(dir, file), { force: true }); // a write cut short
        continue;
      }
      const bytes = (await stat(join(dir, file))).size;
      const seq = Number(m[1]);
      spool.entries.push({ file, seq, batchId: m[2] as string, bytes });
      spool.totalBytes += bytes;
      spool.seq = Math.max(spool.seq, seq);
    }
    return spool;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  get size(): number {
    return this.entries.length;
  }

  /**
   * Keeps `batch` in the encoding `via` sends now, but never as JSON when its rows can be TSV (a
   * quarter of the bytes; a JSON-only controller is sent JSON from the rows at replay). Native encode
   * errors are told and counted by `via`. Without `via`: Native where the table has that form.
   */
  async put(batch: TIngestBatch, via?: HttpExporter): Promise<void> {
    if (this.entries.some((e) => e.batchId === batch.batchId)) return;
    const { body, encoding } = via
      ? via.encode(batch, via.encoding === "json" ? "tsv" : via.encoding)
      : encodeForSpool(batch);
    const bytes = Buffer.byteLength(body);
    if (bytes > this.maxBytes) {
      this.counters.droppedBatches += 1;
      this.counters.droppedBytes += bytes;
      return;
    }
    while (this.totalBytes + bytes > this.maxBytes && this.entries.length > 0) await this.dropOldest();
    this.seq += 1;
    const file = `${String(this.seq).padStart(16, "0")}-${batch.batchId}.${encoding}`;
    const tmp = join(this.dir, `${file}.tmp`);
    const fh = await open(tmp, "w");
    try {
      await fh.writeFile(body);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, join(this.dir, file));
    this.entries.push({ file, seq: this.seq, batchId: batch.batchId, bytes });
    this.totalBytes += bytes;
    this.counters.spooledBatches += 1;
  }

  private async dropOldest(): Promise<void> {
    const oldest = this.entries.shift();
    if (!oldest) return;
    this.totalBytes -= oldest.bytes;
    this.counters.droppedBatches += 1;
    this.counters.droppedBytes += oldest.bytes;
    await rm(join(this.dir, oldest.file), { force: true });
  }

  private async remove(entry: TEntry): Promise<void> {
    this.entries = this.entries.filter((e) => e !== entry);
    this.totalBytes -= entry.bytes;
    await rm(join(this.dir, entry.file), { force: true });
  }

  /**
   * Sends spooled batches oldest first until the spool is empty or the exporter says to wait
   * (a retryable result: the controller is still unreachable or busy). A batch refused for good is
   * removed and counted; a file that no longer parses is removed the same way.
   */
  async replay(
    exporter: HttpExporter,
    opts: { deadlineMs?: number } = {},
  ): Promise<{ sent: number; pending: number }> {
    let sent = 0;
    while (this.entries.length > 0) {
      const entry = this.entries[0] as TEntry;
      let batch: TIngestBatch;
      let prepared: TPreparedBody | undefined;
      try {
        const body = await readFile(join(this.dir, entry.file));
        if (entry.file.endsWith(".native")) {
          batch = decodeNativeBatch(body);
          prepared = { encoding: "native", body };
        } else if (entry.file.endsWith(".tsv")) {
          batch = decodeTsvBatch(body);
          prepared = { encoding: "tsv", body };
        } else batch = ZIngestBatch.parse(JSON.parse(body.toString("utf8")));
      } catch {
        this.counters.failedBatches += 1;
        await this.remove(entry);
        continue;
      }
      const r: TExportResult = await exporter.export(batch, { ...opts, prepared });
      if (r.code === "retryable") break;
      if (r.code === "failure") this.counters.failedBatches += 1;
      else {
        sent += 1;
        this.counters.replayedBatches += 1;
      }
      await this.remove(entry);
    }
    return { sent, pending: this.entries.length };
  }
}

/** A batch as a spool file's body without an exporter: Native where it can be, else TSV or JSON. */
function encodeForSpool(batch: TIngestBatch): { body: Buffer | string; encoding: TIngestEncoding } {
  const encoding = effectiveEncoding(batch, "native");
  if (encoding === "native") {
    try {
      return { body: encodeNativeBatch(batch), encoding };
    } catch {
      // An agent bug: kept as TSV, which the controller checks row by row.
    }
  }
  return encoding === "json"
    ? { body: JSON.stringify(batch), encoding }
    : { body: encodeTsvBatch(batch), encoding: "tsv" };
}

/**
 * What the agent's sender calls for every batch: send now when nothing is waiting, otherwise (or
 * when the send is retryable) keep it in the spool; `flush()` replays the spool, called every
 * sync interval and after a data-node change.
 */
export class SpoolingSender {
  constructor(
    private readonly exporter: HttpExporter,
    private readonly spool: DiskSpool,
    private readonly opts: { deadlineMs?: number } = {},
  ) {}

  async send(batch: TIngestBatch): Promise<TExportResult | { code: "spooled" }> {
    if (this.spool.size > 0) {
      await this.spool.put(batch, this.exporter);
      return { code: "spooled" };
    }
    const r = await this.exporter.export(batch, this.opts);
    if (r.code === "retryable") {
      await this.spool.put(batch, this.exporter);
      return { code: "spooled" };
    }
    return r;
  }

  flush(): Promise<{ sent: number; pending: number }> {
    return this.spool.replay(this.exporter, this.opts);
  }
}
