import { mkdir, open, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { type TIngestBatch, ZIngestBatch } from "@flowplane/protocol";
import {
  decodeTsvBatch,
  encodeTsvBatch,
  type HttpExporter,
  type TExportResult,
  tsvEncodable,
} from "./exporter.ts";

/** `.tsv`: the compact encoding (a quarter of JSON's bytes); `.json`: older spools, odd rows. */
const FILE_RE = /^(\d{16})-([0-9a-f-]{36})\.(json|tsv)$/;

type TEntry = { file: string; seq: number; batchId: string; bytes: number };

/**
 * A bounded on-disk queue of batches no data node took. Each batch is one file named by a
 * sequence number and its batchId, written to a temporary name, fsynced and renamed, so a crash
 * leaves whole batches or nothing. Past `maxBytes` the oldest batches are dropped (fresh telemetry
 * is worth more than old) and counted. Replays resend a batch with its original batchId: a batch
 * that was stored before the crash is answered `duplicate` by the controller, never counted twice.
 * Batches are kept in the compact encoding (so the bound holds about four times the rows of JSON)
 * and replayed through the exporter in whichever encoding the controller reads; `.json` files (an
 * older agent's spool) replay the same way.
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

  async put(batch: TIngestBatch): Promise<void> {
    if (this.entries.some((e) => e.batchId === batch.batchId)) return;
    const tsv = tsvEncodable(batch);
    const body = tsv ? encodeTsvBatch(batch) : JSON.stringify(batch);
    const bytes = Buffer.byteLength(body);
    if (bytes > this.maxBytes) {
      this.counters.droppedBatches += 1;
      this.counters.droppedBytes += bytes;
      return;
    }
    while (this.totalBytes + bytes > this.maxBytes && this.entries.length > 0) await this.dropOldest();
    this.seq += 1;
    const file = `${String(this.seq).padStart(16, "0")}-${batch.batchId}.${tsv ? "tsv" : "json"}`;
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
      try {
        const body = await readFile(join(this.dir, entry.file));
        batch = entry.file.endsWith(".tsv")
          ? decodeTsvBatch(body)
          : ZIngestBatch.parse(JSON.parse(body.toString("utf8")));
      } catch {
        this.counters.failedBatches += 1;
        await this.remove(entry);
        continue;
      }
      const r: TExportResult = await exporter.export(batch, opts);
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
      await this.spool.put(batch);
      return { code: "spooled" };
    }
    const r = await this.exporter.export(batch, this.opts);
    if (r.code === "retryable") {
      await this.spool.put(batch);
      return { code: "spooled" };
    }
    return r;
  }

  flush(): Promise<{ sent: number; pending: number }> {
    return this.spool.replay(this.exporter, this.opts);
  }
}
