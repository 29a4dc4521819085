/**
 * The send-rate limit (maxSendRowsPerS) at the one place every ingest batch leaves the agent:
 * fresh batches and spool replays alike go through `export()`. A batch the governor's row bucket
 * cannot take now answers `retryable`, which makes the SpoolingSender keep it in the disk spool
 * and stops a replay; it goes out unchanged (same batchId) once the bucket refills.
 *
 * Holding rather than sampling: rows are already the reduced form of the traffic (one flow row
 * stands for thousands of packets), bursts are short (flows end together at minute boundaries),
 * and the spool is there anyway for data-node outages; only a sustained excess beyond its bound
 * loses rows, and the spool counts those (oldest first).
 */
import type { TIngestBatch } from "@flowplane/protocol";
import { ControllerError } from "../controller-link/errors.ts";
import { HttpExporter, type TExportResult, type THttpExporterOptions } from "../controller-link/exporter.ts";
import type { Governor } from "./governor.ts";

export class GatedHttpExporter extends HttpExporter {
  /** Batches refused at least once: each one's rows count as held once, however often it is retried. */
  private readonly held = new Set<string>();
  private lastRefused = false;

  constructor(
    opts: THttpExporterOptions,
    private readonly governor: Governor,
  ) {
    super(opts);
  }

  /** True while the last batch offered was held: batches queued behind it are held too. */
  get holding(): boolean {
    return this.lastRefused;
  }

  override async export(batch: TIngestBatch, opts: { deadlineMs?: number } = {}): Promise<TExportResult> {
    if (!this.governor.takeRows(batch.rows.length)) {
      this.lastRefused = true;
      this.countHeld(batch);
      return {
        code: "retryable",
        error: new ControllerError(0, "SEND_RATE_LIMIT", "held by the agent's maxSendRowsPerS limit"),
        attempts: 0,
      };
    }
    this.lastRefused = false;
    this.held.delete(batch.batchId);
    return super.export(batch, opts);
  }

  /** A batch queued in the spool behind held ones without being offered: its rows are held too. */
  queuedBehindHeld(batch: TIngestBatch): void {
    this.countHeld(batch);
  }

  private countHeld(batch: TIngestBatch): void {
    if (this.held.has(batch.batchId)) return;
    // Ids of held batches the spool later dropped are never seen again: keep the set bounded.
    if (this.held.size >= 100_000) this.held.clear();
    this.held.add(batch.batchId);
    this.governor.heldRows(batch.rows.length);
  }
}
