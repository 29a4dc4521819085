/**
 * The stand-in for the controller: rows appended as JSON lines to `<dir>/<table>.jsonl`, the
 * same files and keys `analyze` writes, so a `run` and an `analyze` of one capture compare
 * directly. Appending (not rotating) keeps one file per table for the tools reading them.
 */
import { appendFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { ExportRecord, ExportResult, ExportSink } from "./exporter.ts";

export class JsonlSink implements ExportSink {
  private ready: Promise<unknown> | undefined;

  constructor(private readonly dir: string) {}

  async export(batch: ExportRecord[]): Promise<ExportResult> {
    this.ready ??= mkdir(this.dir, { recursive: true });
    await this.ready;
    const byTable = new Map<string, string[]>();
    for (const r of batch) {
      const lines = byTable.get(r.table) ?? [];
      if (lines.length === 0) byTable.set(r.table, lines);
      lines.push(JSON.stringify(r.row));
    }
    try {
      for (const [table, lines] of byTable) {
        await appendFile(join(this.dir, `${table}.jsonl`), `${lines.join("\n")}\n`);
      }
      return "success";
    } catch (err) {
      // A full or read-only disk will not heal by retrying the same batch forever.
      const code = (err as NodeJS.ErrnoException).code;
      return code === "ENOSPC" || code === "EROFS" || code === "EACCES" ? "failure" : "retryable";
    }
  }
}
