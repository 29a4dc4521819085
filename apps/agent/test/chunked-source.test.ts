// The fenced block reader (the native L7 thread's by-pointer segments): every byte comes out as
// in the file, a block is never refilled before its reader is past it, and a reader that keeps
// up gets the blocks it finished most recently back (they are the ones still in the CPU cache).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type BlockFence, ChunkedSource, FENCE_BLOCKS } from "../src/capture/chunked-source.ts";
import { Rng } from "../src/testing/rng.ts";

const dir = mkdtempSync(join(tmpdir(), "flowplane-chunked-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const BLOCK = 65536;
const file = join(dir, "bytes");
const rng = new Rng(7);
const data = Buffer.alloc(3 * 1024 * 1024 + 123);
for (let i = 0; i < data.length; i++) data[i] = rng.int(256);
writeFileSync(file, data);

/**
 * A fence whose reader runs `lag` marks behind the position handed out (Infinity: never catches
 * up by itself, only when waited for). Records every block it was asked to wait for.
 */
function fakeFence(lag: number) {
  const pinned: Uint8Array[] = [];
  let pos = 0;
  let reader = 0;
  const waited: number[] = [];
  const fence: BlockFence = {
    pin: (b) => pinned.push(b),
    mark: () => pos,
    waitFor: (m) => {
      waited.push(m);
      reader = Math.max(reader, m);
    },
    passed: (m) => m <= Math.max(reader, pos - lag),
  };
  return {
    fence,
    pinned,
    waited,
    /** Hands out one more segment (advances the position); returns its index. */
    handOut: () => pos++,
    /** Segments the reader is past, to check no pinned block was refilled under it. */
    readerAt: () => Math.max(reader, pos - lag),
  };
}

/**
 * Walks the file in `step`-byte records, checking each against the file's bytes, and that a
 * block is refilled only once the reader is past every segment handed out from it.
 */
function walk(src: ChunkedSource, f: ReturnType<typeof fakeFence>, step: number) {
  const used = new Map<Uint8Array, number>();
  /** Per block, the index of the last segment handed out from it. */
  const lastOut = new Map<Uint8Array, number>();
  let off = 0;
  while (off < data.length) {
    const n = Math.min(step, data.length - off);
    const base = src.base;
    expect(src.ensure(n)).toBe(true);
    if (src.base !== base && lastOut.has(src.buf))
      expect(f.readerAt()).toBeGreaterThan(lastOut.get(src.buf)!);
    expect(src.offset).toBe(off);
    expect(Buffer.compare(src.buf.subarray(src.pos, src.pos + n), data.subarray(off, off + n))).toBe(0);
    used.set(src.buf, (used.get(src.buf) ?? 0) + 1);
    lastOut.set(src.buf, f.handOut());
    src.pos += n;
    off += n;
  }
  expect(src.ensure(1)).toBe(false);
  return used;
}

/** Reads the whole file through a fenced source whose reader lags by `lag`, `step` bytes at a time. */
function readAll(lag: number, step: number) {
  const f = fakeFence(lag);
  const src = ChunkedSource.open(file, BLOCK, f.fence);
  const used = walk(src, f, step);
  src.close();
  return { f, used };
}

describe("ChunkedSource with a block fence", () => {
  it("reuses the most recently finished block when the reader keeps up", () => {
    const { f, used } = readAll(0, 1000);
    expect(f.pinned).toHaveLength(FENCE_BLOCKS);
    // A reader that is never behind: the current block is free again at once, as unfenced.
    expect(used.size).toBe(1);
    expect(f.waited).toHaveLength(0);
  });

  it("cycles over few blocks when the reader is a little behind", () => {
    const { f, used } = readAll(30, 1000);
    expect(used.size).toBeLessThanOrEqual(2);
    expect(f.waited).toHaveLength(0);
  });

  it("waits for the oldest block when the reader lags, and hands out every byte in order", () => {
    const { f, used } = readAll(Number.POSITIVE_INFINITY, 777);
    expect(used.size).toBe(FENCE_BLOCKS);
    // Oldest first: the marks waited for only grow.
    for (let i = 1; i < f.waited.length; i++) expect(f.waited[i]).toBeGreaterThanOrEqual(f.waited[i - 1]!);
    expect(f.waited.length).toBeGreaterThan(30);
  });

  it("takes its blocks from the fence's region when it gives one, a longer record's too", () => {
    const f = fakeFence(Number.POSITIVE_INFINITY);
    const regions: ArrayBuffer[] = [];
    f.fence.region = (bytes) => {
      regions.push(new ArrayBuffer(bytes));
      return regions.at(-1);
    };
    const src = ChunkedSource.open(file, BLOCK, f.fence);
    expect(regions[0]!.byteLength).toBe(BLOCK * FENCE_BLOCKS);
    const used = walk(src, f, 777);
    for (const b of used.keys()) expect(b.buffer).toBe(regions[0]);
    src.close();
    // A record longer than a block: new blocks, of the new size, from a new region.
    const g = fakeFence(0);
    g.fence.region = f.fence.region;
    const big = ChunkedSource.open(file, BLOCK, g.fence);
    walk(big, g, BLOCK + 4321);
    expect(regions).toHaveLength(3);
    expect(regions[2]!.byteLength).toBe(2 * (BLOCK + 4321) * FENCE_BLOCKS);
    expect(big.buf.buffer).toBe(regions[2]);
    big.close();
  });
});
