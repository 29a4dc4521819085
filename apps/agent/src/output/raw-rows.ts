/**
 * The L7 processor's `rawRows` sink for analyze's output files: JSONL lines made by the native
 * row path go to the files as they are, and their row counts to `counts`. One adapter for the
 * one-thread analysis, the dispatching thread and its workers.
 */
import type { JsonlWriter } from "./jsonl-writer.ts";

/** The shape of `L7ProcessorOptions.rawRows` (`b` is valid during the call only). */
export interface RawRowsSink {
  l7(b: Uint8Array, len: number, rows: number): void;
  appMetrics(b: Uint8Array, len: number, rows: number): void;
  /**
   * The two files' descriptors, when a thread of the native path may append its lines to them
   * itself (it then reports their rows through l7 / appMetrics with no bytes, at the end).
   */
  fds?: [number, number];
}

/** Whether rows may come as bytes: L7 on, files to write, and no caller asking for row objects. */
export function wantsRawRows(o: {
  l7?: unknown;
  outDir?: string;
  onL7?: unknown;
  onAppMetrics?: unknown;
}): boolean {
  return o.l7 !== undefined && !!o.outDir && !o.onL7 && !o.onAppMetrics;
}

/** Rows written raw so far, per file. */
export interface RawRowCounts {
  l7: number;
  appMetrics: number;
}

/**
 * `ownThread`: the caller reads its capture through a block fence (the engine's l7BlockFence),
 * so the native path may run on its own thread and append to the files itself.
 */
export function rawRowsInto(
  l7: JsonlWriter | undefined,
  appMetrics: JsonlWriter | undefined,
  counts: RawRowCounts,
  ownThread = false,
): RawRowsSink {
  return {
    ...(ownThread && l7 && appMetrics ? { fds: [l7.appendFd, appMetrics.appendFd] as [number, number] } : {}),
    l7: (b, len, rows) => {
      counts.l7 += rows;
      l7?.writeRaw(b, 0, len, rows);
    },
    appMetrics: (b, len, rows) => {
      counts.appMetrics += rows;
      appMetrics?.writeRaw(b, 0, len, rows);
    },
  };
}
