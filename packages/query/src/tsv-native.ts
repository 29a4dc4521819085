/**
 * The C line writer of the compact ingest encoding (native/tsv-lines.c), compiled lazily with the
 * system compiler by the shared addon builder (@flowplane/core/native-addon: a private per-user
 * build directory checked before loading, files named by a hash of the source and the Node
 * version). Anything missing (not Linux, no compiler, no headers) leaves the JS writers in
 * charge: `loadTsvNative` then gives the reason instead.
 */
import { buildAddon } from "@flowplane/core/native-addon";

export interface TsvNative {
  encode(
    src: Buffer,
    pos: Int32Array,
    width: number,
    from: number,
    to: number,
    out: Buffer,
    o: number,
    program: Int32Array,
    maxes: Float64Array,
    org: Buffer,
    agent: Buffer,
    ov: readonly (Uint32Array | undefined)[],
    res: Float64Array,
  ): number;
  split(body: Buffer, p: number, rows: number, n: number, pos: Int32Array, res: Float64Array): number;
}

let cached: TsvNative | string | undefined;

/** The addon, or why it is unavailable (FLOWPLANE_TSV_NATIVE=0 turns it off). */
export function loadTsvNative(): TsvNative | string {
  if (process.env.FLOWPLANE_TSV_NATIVE === "0") return "tsv-lines addon: off (FLOWPLANE_TSV_NATIVE=0)";
  cached ??= buildAddon<TsvNative>({
    name: "tsv-lines",
    source: new URL("./native/tsv-lines.c", import.meta.url),
  });
  return cached;
}
