/**
 * `run --pcap`: a capture file fed through the live pipeline as if it were arriving now. Packet
 * times are shifted so the first packet is "now"; at speed N the gaps are divided by N (so rows
 * stay near the wall clock, which storage TTLs need); `max` feeds as fast as the engine goes,
 * keeping the capture's own spacing. With `loop`, each pass continues forward in time from where
 * the previous one ended (plus one second), so flow times never go backwards.
 */
import { readCaptureFile } from "../capture/capture-file.ts";
import type { Pipeline } from "./pipeline.ts";

export type Speed = { kind: "max" } | { kind: "factor"; factor: number };

export function parseSpeed(text: string): Speed | undefined {
  if (text === "max") return { kind: "max" };
  const m = /^(\d+(?:\.\d+)?)x$/.exec(text);
  if (!m) return undefined;
  const factor = Number(m[1]);
  return factor > 0 ? { kind: "factor", factor } : undefined;
}

/** A capture held in memory: one buffer of frames plus typed-array columns. */
interface Loaded {
  data: Buffer;
  off: Float64Array;
  cap: Uint32Array;
  wire: Uint32Array;
  ts: Float64Array;
  link: Uint16Array;
  count: number;
}

function load(path: string, onError: (kind: string, offset: number) => void): Loaded {
  const frames: Buffer[] = [];
  const meta: number[] = [];
  readCaptureFile(
    path,
    (lt, buf, off, cap, wire, ts) => {
      frames.push(Buffer.from(buf.subarray(off, off + cap)));
      meta.push(lt, cap, wire, ts);
    },
    onError,
  );
  const count = frames.length;
  const l: Loaded = {
    data: Buffer.concat(frames),
    off: new Float64Array(count),
    cap: new Uint32Array(count),
    wire: new Uint32Array(count),
    ts: new Float64Array(count),
    link: new Uint16Array(count),
    count,
  };
  let pos = 0;
  for (let i = 0; i < count; i++) {
    l.link[i] = meta[i * 4] as number;
    l.cap[i] = meta[i * 4 + 1] as number;
    l.wire[i] = meta[i * 4 + 2] as number;
    l.ts[i] = meta[i * 4 + 3] as number;
    l.off[i] = pos;
    pos += l.cap[i] as number;
  }
  return l;
}

export interface ReplayOptions {
  speed: Speed;
  loop: boolean;
  /** Stops the replay between packets (Ctrl-C). */
  signal?: AbortSignal;
  /** Wall clock in µs (tests pin it). */
  nowMicros?: () => number;
  /** While true, a max-speed replay waits (the overload governor stopped capture). */
  paused?: () => boolean;
}

export interface ReplayResult {
  packets: number;
  loops: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function replayCapture(
  path: string,
  pipeline: Pipeline,
  o: ReplayOptions,
): Promise<ReplayResult> {
  const now = o.nowMicros ?? (() => Date.now() * 1000);
  // Reader errors are counted once, on the first pass.
  const cap = load(path, (kind, offset) => pipeline.readError(kind, offset));
  if (cap.count === 0) return { packets: 0, loops: 0 };
  // Captures are not always in time order: the span is from the earliest to the latest packet.
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < cap.count; i++) {
    const t = cap.ts[i] as number;
    if (t < first) first = t;
    if (t > last) last = t;
  }
  const factor = o.speed.kind === "factor" ? o.speed.factor : 1;
  const span = (last - first) / factor;
  let base = now(); // shifted time of the first packet of this pass
  let packets = 0;
  let loops = 0;
  do {
    const passStartWall = now();
    for (let i = 0; i < cap.count; i++) {
      if (o.signal?.aborted) return { packets, loops };
      const rel = ((cap.ts[i] as number) - first) / factor;
      if (o.speed.kind === "factor") {
        const due = passStartWall + rel;
        const wait = due - now();
        if (wait > 2000) await sleep(Math.min(wait / 1000, 1000));
        if (wait > 2000) {
          i--; // re-check the same packet (aborts and long gaps wake up every second)
          continue;
        }
      } else if ((packets & 0xfff) === 0xfff) {
        // Every 4 k packets (≈1-2 ms), counted over all passes: a small looped capture yields too.
        await new Promise<void>((r) => setImmediate(r)); // let signals, timers and exports in
        while (o.paused?.() && !o.signal?.aborted) await sleep(100);
      }
      pipeline.packet(
        cap.link[i] as number,
        cap.data,
        cap.off[i] as number,
        cap.cap[i] as number,
        cap.wire[i] as number,
        base + rel,
      );
      packets++;
    }
    loops++;
    if (o.loop) pipeline.endOfPass();
    base += span + 1_000_000;
    if (o.speed.kind === "factor") {
      const wait = base - now();
      if (wait > 0 && o.loop) await sleep(wait / 1000);
    }
  } while (o.loop && !o.signal?.aborted);
  return { packets, loops };
}
