/**
 * Block reader: the file is read with fs.readSync into one reused Buffer (1 MiB by default) and
 * parsers walk it with offsets; when a record straddles the end of the block, the tail is moved
 * to the front and the block refilled. A block that stays in the CPU cache beats a big one: on
 * the 130 MB bench capture 64 MiB blocks cost 100-130 ms of CPU to read (page faults on the
 * fresh buffer, data cold by the time it is parsed), 1-4 MiB blocks 75-90 ms. An in-memory
 * Buffer can be wrapped the same way (tests, replay).
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";

/**
 * A reader of the blocks' bytes that runs behind the parsers (the native L7 row path's thread,
 * which is handed segments by pointer): the source then keeps FENCE_BLOCKS buffers instead of
 * refilling one, and refills a buffer only once the reader is past everything handed out while
 * it was current (the most recently finished such buffer, else the oldest, waited for).
 */
export interface BlockFence {
  /** A buffer of the source's (kept unchanged until waited for). */
  pin(buf: Uint8Array): void;
  /** The position of everything handed out so far. */
  mark(): number;
  /** Memory for all the blocks (`bytes`), when the reader provides it (see the native region()). */
  region?(bytes: number): ArrayBuffer | undefined;
  /**
   * The reader reads the file itself, by offset (`src.base` is the file offset of `src.buf[0]`):
   * true, and the source keeps one buffer, refilled in place, instead of rotating pinned blocks.
   * (Each block's bytes no longer go from the cache of the core that read them into the
   * reader's and back: see the native path's fp_file_at.)
   */
  readsFile?(fd: number, size: number, src: ChunkedSource): boolean;
  /** Returns once the reader is past `mark`. */
  waitFor(mark: number): void;
  /** Whether the reader is past `mark` (without waiting). */
  passed(mark: number): boolean;
}

/**
 * Buffers a fenced source rotates over: the reader may lag up to FENCE_BLOCKS - 1 blocks. 16
 * rather than 8 (web-1m, L7 on its own thread): the main thread's wait at the fence fell from
 * 33-36 to 10-14 ms a run, its running time rose by ~15 ms (reads into colder blocks), 5-13 ms
 * net.
 */
export const FENCE_BLOCKS = 16;

export class ChunkedSource {
  buf: Buffer;
  /** Valid bytes in buf are [pos, len). */
  pos = 0;
  len = 0;
  /** File offset of buf[0]. */
  base = 0;
  readonly size: number;
  private fd: number;
  private fileOff = 0;
  /** With a fence: the buffers in rotation (buf is blocks[cur]) and each one's mark. */
  private fence: BlockFence | undefined;
  private blocks: Buffer[] = [];
  private marks: number[] = [];
  private cur = 0;
  /** Blocks not current, oldest retired first. */
  private retired: number[] = [];

  private constructor(fd: number, size: number, buf: Buffer, len: number) {
    // Double fields from the start (as FlowEngine's byte count): offsets crossing 2^31 in a
    // file over 2 GiB would change this object's map and deoptimize the record loop mid-run.
    this.base = 0.5;
    this.base = 0;
    this.fileOff = 0.5;
    this.fd = fd;
    this.size = size;
    this.buf = buf;
    this.len = len;
    this.fileOff = len;
  }

  static open(path: string, blockSize = 1024 * 1024, fence?: BlockFence): ChunkedSource {
    const fd = openSync(path, "r");
    const size = fstatSync(fd).size;
    const n = Math.max(65536, Math.min(blockSize, size));
    const src = new ChunkedSource(fd, size, Buffer.allocUnsafe(n), 0);
    src.fileOff = 0;
    if (fence && !fence.readsFile?.(fd, size, src)) src.rotate(fence, n);
    src.fill();
    return src;
  }

  private rotate(fence: BlockFence, n: number): void {
    this.fence = fence;
    const region = fence.region?.(n * FENCE_BLOCKS);
    if (region !== undefined) {
      this.blocks = [];
      for (let i = 0; i < FENCE_BLOCKS; i++) this.blocks.push(Buffer.from(region, i * n, n));
      // What is already read (a block grown for a long record) moves into the first.
      this.blocks[0]!.set(this.buf.subarray(0, this.len));
      this.buf = this.blocks[0]!;
    } else {
      this.blocks = [this.buf];
      for (let i = 1; i < FENCE_BLOCKS; i++) this.blocks.push(Buffer.allocUnsafe(n));
    }
    this.marks = this.blocks.map(() => 0);
    this.cur = 0;
    this.retired = [];
    for (let i = FENCE_BLOCKS - 1; i > 0; i--) this.retired.push(i);
    for (const b of this.blocks) fence.pin(b);
  }

  static fromBuffer(b: Uint8Array): ChunkedSource {
    const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
    return new ChunkedSource(-1, buf.length, buf, buf.length);
  }

  /** File offset of the current position. */
  get offset(): number {
    return this.base + this.pos;
  }

  /** Makes n bytes available at pos (compacting/refilling); false at end of input. */
  ensure(n: number): boolean {
    if (this.len - this.pos >= n) return true;
    if (this.fd < 0) return false;
    if (n > this.buf.length) {
      // A record larger than the block: grow once (bounded by the caller's sanity checks).
      const nb = Buffer.allocUnsafe(n * 2);
      this.buf.copy(nb, 0, this.pos, this.len);
      this.base += this.pos;
      this.len -= this.pos;
      this.pos = 0;
      this.buf = nb;
      // The old blocks stay pinned (the fence's owner keeps them); new ones of the new size.
      if (this.fence) this.rotate(this.fence, nb.length);
    } else if (this.fence && this.pos > 0) {
      // The unread tail goes to the front of the next block, once its reader is done with it.
      this.marks[this.cur] = this.fence.mark();
      this.retired.push(this.cur);
      const next = this.nextBlock(this.fence);
      const nb = this.blocks[next]!;
      this.buf.copy(nb, 0, this.pos, this.len);
      this.base += this.pos;
      this.len -= this.pos;
      this.pos = 0;
      this.buf = nb;
      this.cur = next;
    } else if (this.pos > 0) {
      this.buf.copy(this.buf, 0, this.pos, this.len);
      this.base += this.pos;
      this.len -= this.pos;
      this.pos = 0;
    }
    this.fill();
    return this.len - this.pos >= n;
  }

  /**
   * The block to fill next: the most recently retired one the reader is done with, so that the
   * reads cycle over the two or three blocks a reader keeping up needs, which stay in the CPU's
   * cache, rather than over all of them (8 MiB of them, past L2, cost ~40 % more kernel copy
   * time on web-1m); when the reader lags, the oldest, waited for.
   */
  private nextBlock(fence: BlockFence): number {
    const r = this.retired;
    for (let i = r.length - 1; i >= 0; i--) {
      const b = r[i]!;
      if (fence.passed(this.marks[b]!)) {
        r.splice(i, 1);
        return b;
      }
    }
    const b = r.shift()!;
    fence.waitFor(this.marks[b]!);
    return b;
  }

  private fill(): void {
    while (this.len < this.buf.length && this.fileOff < this.size) {
      const r = readSync(this.fd, this.buf, this.len, this.buf.length - this.len, this.fileOff);
      if (r <= 0) break;
      this.len += r;
      this.fileOff += r;
    }
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}
