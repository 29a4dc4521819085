/**
 * Output file writes off the calling thread: one writer thread per isolate takes full chunks
 * (1 MiB slots of one SharedArrayBuffer) and `writeSync`s them in submission order, so the
 * `write(2)` system time of the agent's JSONL files (~0.13 s of a 1-worker L7 run's main thread on
 * web-1m.pcap, 327 MB of l7_flow_log) overlaps the parsing on another core.
 *
 * The analysis loop never yields to the event loop, so libuv's pool (fs.write) cannot be used:
 * its completions are only seen on the loop, and a chunk's buffer could not be reused until then.
 * Here a JsonlWriter's full chunk is copied into a free slot and queued; the writer thread frees
 * slots through a shared counter. With every slot queued the caller waits (`Atomics.wait`):
 * memory stays at SLOTS slots whatever the disk's speed. The rows are not formatted into the
 * slots in place: V8's code writing into a SharedArrayBuffer-backed Buffer ran the JSONL
 * formatting ~70 % slower (measured: 0.13 -> 0.22 s of user time for 300 MB), a 1 MiB copy is
 * ~50 µs.
 *
 * A failed write is reported by the writer thread over a MessagePort read synchronously
 * (`receiveMessageOnPort`); the JsonlWriter of that file throws it at its next flush or close.
 */
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from "node:worker_threads";

export const SLOT_BYTES = (1 << 20) + 65536;
const SLOTS = 8;
/** ctl words: submitted entries, written entries, failed writes, started, stopped by an error. */
const HEAD = 0;
const DONE = 1;
const FAILED = 2;
const STARTED = 3;
const FATAL = 4;
/** Without a sign of life from the writer thread for this long, its start failed. */
const START_TIMEOUT_MS = 30_000;

const writerSource = `
const { writeSync } = require("node:fs");
const { workerData } = require("node:worker_threads");
const { slots, slotBytes, port } = workerData;
const ctl = new Int32Array(workerData.ctl);
const queue = new Int32Array(workerData.queue);
const bytes = new Uint8Array(workerData.data);
let done = 0;
Atomics.store(ctl, 3, 1);
Atomics.notify(ctl, 1);
try {
  for (;;) {
    let head = Atomics.load(ctl, 0);
    while (head === done) {
      Atomics.wait(ctl, 0, head, 1000);
      head = Atomics.load(ctl, 0);
    }
    const e = (done % slots) * 3;
    const slot = queue[e], fd = queue[e + 1], len = queue[e + 2];
    try {
      const base = slot * slotBytes;
      let off = 0;
      while (off < len) off += writeSync(fd, bytes, base + off, len - off);
    } catch (err) {
      port.postMessage({ fd, message: err.message, code: err.code, errno: err.errno, syscall: err.syscall });
      Atomics.add(ctl, 2, 1);
    }
    done++;
    Atomics.store(ctl, 1, done);
    Atomics.notify(ctl, 1);
  }
} catch (err) {
  port.postMessage({ fd: -1, message: String(err && err.stack || err) });
  Atomics.store(ctl, 4, 1);
  Atomics.notify(ctl, 1);
}
`;

/**
 * Where a JsonlWriter's chunks go to be written by another thread: this isolate's FileSink, or
 * the native L7 row thread when one runs (it writes every file of the analysis then).
 */
export interface ChunkSink {
  /** Queues buf[0..len) for fd (copied: buf may be reused at once); returns a sequence number. */
  write(fd: number, buf: Uint8Array, len: number): number;
  /** Returns once what was queued up to `seq` is written. */
  wait(seq: number): void;
  /** The first failed write to fd not yet reported, if any (then forgotten). */
  failure(fd: number): WriteFailure | undefined;
}

export interface WriteFailure {
  fd: number;
  message: string;
  code?: string;
  errno?: number;
  syscall?: string;
}

export class FileSink implements ChunkSink {
  private ctl: Int32Array;
  private queue: Int32Array;
  private data: SharedArrayBuffer;
  private port: MessagePort;
  private worker: Worker;
  private head = 0;
  private failedSeen = 0;
  private bytes: Uint8Array;
  /** A slot is free once the entry that last queued it is written. */
  private freeAfter = new Int32Array(SLOTS);
  private failures: WriteFailure[] = [];

  constructor() {
    const ctl = new SharedArrayBuffer(4 * 5);
    const queue = new SharedArrayBuffer(4 * 3 * SLOTS);
    this.data = new SharedArrayBuffer(SLOT_BYTES * SLOTS);
    this.bytes = new Uint8Array(this.data);
    this.ctl = new Int32Array(ctl);
    this.queue = new Int32Array(queue);
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.worker = new Worker(writerSource, {
      eval: true,
      // Plain CommonJS: none of this process's flags (module loaders such as tsx) are needed.
      execArgv: [],
      workerData: { slots: SLOTS, slotBytes: SLOT_BYTES, ctl, queue, data: this.data, port: port2 },
      transferList: [port2],
    });
    // Seen only when the event loop runs (the analysis does not yield); waits check FATAL.
    this.worker.on("error", () => {});
    this.worker.unref();
    this.port.unref();
  }

  /**
   * Copies bytes [0, len) of buf into free slots (waiting for the writer thread while none is
   * free) and queues them for fd; returns the sequence number of the last entry.
   */
  write(fd: number, buf: Uint8Array, len: number): number {
    let seq = -1;
    for (let off = 0; off < len; off += SLOT_BYTES) {
      const n = Math.min(SLOT_BYTES, len - off);
      const slot = this.freeSlot();
      this.bytes.set(off === 0 && n === buf.length ? buf : buf.subarray(off, off + n), slot * SLOT_BYTES);
      seq = this.head;
      const e = (seq % SLOTS) * 3;
      this.queue[e] = slot;
      this.queue[e + 1] = fd;
      this.queue[e + 2] = n;
      this.freeAfter[slot] = seq + 1;
      this.head = seq + 1;
      Atomics.store(this.ctl, HEAD, this.head);
      Atomics.notify(this.ctl, HEAD);
    }
    return seq;
  }

  private freeSlot(): number {
    for (;;) {
      const done = Atomics.load(this.ctl, DONE);
      for (let s = 0; s < SLOTS; s++) if (this.freeAfter[s]! <= done) return s;
      this.waitDone(done);
    }
  }

  /** Waits until entry `seq` (and every one before it) is written. */
  wait(seq: number): void {
    for (;;) {
      const done = Atomics.load(this.ctl, DONE);
      if (done > seq) return;
      this.waitDone(done);
    }
  }

  /** Waits for the writer thread to move past `done`; throws when it stopped or never started. */
  private waitDone(done: number): void {
    const t0 = performance.now();
    while (Atomics.load(this.ctl, DONE) === done) {
      if (Atomics.load(this.ctl, FATAL) !== 0) {
        const m = this.drain().find((f) => f.fd === -1);
        throw new Error(`JSONL writer thread stopped: ${m?.message ?? "unknown error"}`);
      }
      if (Atomics.load(this.ctl, STARTED) === 0 && performance.now() - t0 > START_TIMEOUT_MS)
        throw new Error("JSONL writer thread did not start");
      Atomics.wait(this.ctl, DONE, done, 1000);
    }
  }

  private drain(): WriteFailure[] {
    for (;;) {
      const m = receiveMessageOnPort(this.port);
      if (!m) break;
      this.failures.push(m.message as WriteFailure);
      this.failedSeen++;
    }
    return this.failures;
  }

  /** The first failed write to fd since the last call for it, if any (and forgets it). */
  failure(fd: number): WriteFailure | undefined {
    if (this.failedSeen < Atomics.load(this.ctl, FAILED)) this.drain();
    const f = this.failures.find((x) => x.fd === fd);
    if (f) this.failures = this.failures.filter((x) => x.fd !== fd);
    return f;
  }
}

let sink: FileSink | null | undefined;

/** This isolate's sink, started on first use; null when turned off (FLOWPLANE_JSONL_SYNC=1). */
export function fileSink(): FileSink | null {
  if (sink === undefined) sink = process.env.FLOWPLANE_JSONL_SYNC === "1" ? null : new FileSink();
  return sink;
}

export function failureError(f: WriteFailure, path: string): Error {
  const e = new Error(`${f.message} (writing ${path})`) as NodeJS.ErrnoException;
  if (f.code !== undefined) e.code = f.code;
  if (f.errno !== undefined) e.errno = f.errno;
  if (f.syscall !== undefined) e.syscall = f.syscall;
  e.path = path;
  return e;
}
