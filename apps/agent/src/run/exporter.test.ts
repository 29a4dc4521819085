import { describe, expect, it } from "vitest";
import { BatchingExporter, type ExportRecord, type ExportResult, type ExportSink } from "./exporter.ts";

class MemorySink implements ExportSink {
  batches: ExportRecord[][] = [];
  concurrent = 0;
  maxConcurrent = 0;
  results: ExportResult[] = [];
  closed = 0;
  async export(batch: ExportRecord[]): Promise<ExportResult> {
    this.concurrent++;
    this.maxConcurrent = Math.max(this.maxConcurrent, this.concurrent);
    await new Promise((r) => setTimeout(r, 5));
    this.concurrent--;
    const r = this.results.shift() ?? "success";
    if (r !== "retryable") this.batches.push([...batch]);
    return r;
  }
  async close(): Promise<void> {
    this.closed++;
  }
}

const rec = (i: number): ExportRecord => ({ table: "l4_flow_log", row: { i } });

describe("BatchingExporter", () => {
  it("batches by size, one delivery in flight, everything delivered on flush", async () => {
    const sink = new MemorySink();
    const ex = new BatchingExporter(sink, { batchSize: 10, flushIntervalMs: 60_000 });
    for (let i = 0; i < 95; i++) ex.push(rec(i));
    await ex.flush();
    expect(sink.maxConcurrent).toBe(1);
    expect(sink.batches.flat().map((r) => r.row.i)).toEqual([...Array(95).keys()]);
    expect(Math.max(...sink.batches.map((b) => b.length))).toBe(10);
    expect(ex.stats()).toMatchObject({ accepted: 95, exported: 95, dropped: 0, buffered: 0 });
  });

  it("delivers a small batch on the timer", async () => {
    const sink = new MemorySink();
    const ex = new BatchingExporter(sink, { batchSize: 1000, flushIntervalMs: 20 });
    ex.push(rec(1));
    await new Promise((r) => setTimeout(r, 80));
    expect(sink.batches).toHaveLength(1);
    await ex.flush();
  });

  it("drops and counts beyond the bound instead of growing", async () => {
    const sink = new MemorySink();
    const ex = new BatchingExporter(sink, { maxBuffer: 50, batchSize: 1000, flushIntervalMs: 60_000 });
    for (let i = 0; i < 80; i++) ex.push(rec(i));
    expect(ex.stats()).toMatchObject({ accepted: 50, dropped: 30, buffered: 50 });
    await ex.flush();
    expect(ex.stats().exported).toBe(50);
  });

  it("retries a retryable batch, counts a failed one as dropped", async () => {
    const sink = new MemorySink();
    sink.results = ["retryable", "success", "failure"];
    const ex = new BatchingExporter(sink, { batchSize: 5, retryDelayMs: 1, flushIntervalMs: 60_000 });
    for (let i = 0; i < 10; i++) ex.push(rec(i));
    await ex.flush();
    expect(ex.stats()).toMatchObject({ retries: 1, exported: 5, dropped: 5, failedBatches: 1 });
  });

  it("flush is idempotent and refuses rows afterwards", async () => {
    const sink = new MemorySink();
    const ex = new BatchingExporter(sink);
    ex.push(rec(1));
    const a = ex.flush();
    const b = ex.flush();
    expect(a).toBe(b);
    await a;
    expect(sink.closed).toBe(1);
    ex.push(rec(2));
    expect(ex.stats()).toMatchObject({ exported: 1, dropped: 1 });
  });
});
