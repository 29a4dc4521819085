/**
 * The native row path on its own thread (rawRows.fds) against the same path run synchronously
 * (rawRows sinks), which http1-native-diff.test.ts holds to the JS: the same seeded HTTP/1
 * traffic must give byte-identical l7_flow_log and application_metrics files and the same stats,
 * whether the thread gets segments by pointer from a capture read through the block fence (a
 * rotating ChunkedSource of small blocks: many rotations, the thread lagging behind), reads them
 * from the capture file itself (by offset, under a read lease; and with pread once another
 * process asks to write the file), or gets them copied from a buffer scribbled over after every
 * call.
 */
import { spawnSync } from "node:child_process";
import { closeSync, constants, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { ChunkedSource } from "../../src/capture/chunked-source.ts";
import { createL7Processor, type L7Processor, type L7ProcessorOptions } from "../../src/l7/index.ts";
import { JsonlWriter } from "../../src/output/jsonl-writer.ts";
import { eventsOf, type GenConfig, type GenFlow, genFlow } from "./http1-traffic-gen.ts";

const T0 = 1_700_000_000_000_000;
const dir = mkdtempSync(join(tmpdir(), "flowplane-native-thread-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.unstubAllEnvs());

interface Out {
  l7: string;
  am: string;
  /** Rows counted by the sinks (bytes or, from the thread, counts only). */
  l7Rows: number;
  amRows: number;
  jsRows: string[];
  stats: unknown;
  threaded: boolean;
  /** Whether the thread wrote its files with O_DIRECT. */
  direct: boolean;
  /** How the thread read the capture (L7Processor.captureReads). */
  reads: string;
}

/**
 * copied: from a scratch buffer; pinned: from a capture file read through the fence's blocks
 * (FLOWPLANE_L7_FILE=0); file: the same file read by the thread itself; file-written: the same,
 * with another process opening the file for writing halfway through; file-open: the file open
 * for writing here all along (no lease: the blocks).
 */
type Feed = "copied" | "pinned" | "file" | "file-written" | "file-open";

/** Another process opens `path` for writing without waiting: refused while a lease is held, which it breaks. */
function openForWritingElsewhere(path: string): string {
  const code = `try { require("node:fs").openSync(${JSON.stringify(path)}, require("node:fs").constants.O_WRONLY | require("node:fs").constants.O_NONBLOCK); console.log("opened"); } catch (e) { console.log(e.code); }`;
  return spawnSync(process.execPath, ["-e", code], { encoding: "utf8" }).stdout.trim();
}

function run(
  name: string,
  flows: GenFlow[],
  feed: Feed,
  threaded: boolean,
  opts: Partial<L7ProcessorOptions> = {},
  raw: { directSlow?: [number, number] } = {},
): Out {
  const events = eventsOf(flows);
  const slots = new Map<GenFlow, number>(flows.map((f, i) => [f, i + 1]));
  const metaBySlot = new Map(flows.map((f, i) => [i + 1, f.meta]));
  const chunks = { l7: [] as Buffer[], am: [] as Buffer[] };
  const counts = { l7: 0, am: 0 };
  const jsRows: string[] = [];
  const l7Path = join(dir, `${name}-l7.jsonl`);
  const amPath = join(dir, `${name}-am.jsonl`);
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_APPEND;
  const fds: [number, number] = [openSync(l7Path, flags), openSync(amPath, flags)];
  const p: L7Processor = createL7Processor({
    ...opts,
    describeFlow: (slot) => metaBySlot.get(slot)!,
    onL7: (r) => jsRows.push(JSON.stringify(r)),
    onAppMetrics: (r) => jsRows.push(JSON.stringify(r)),
    rawRows: {
      l7: (b, len, rows) => {
        chunks.l7.push(Buffer.from(b.subarray(0, len)));
        counts.l7 += rows;
      },
      appMetrics: (b, len, rows) => {
        chunks.am.push(Buffer.from(b.subarray(0, len)));
        counts.am += rows;
      },
      ...(threaded ? { fds } : {}),
      ...raw,
    },
  });
  // Pinned: every payload byte in one file, read back (through the processor's fence when it
  // has one) in 64 KiB blocks, the smallest the source takes: its FENCE_BLOCKS blocks rotate many times.
  let src: ChunkedSource | undefined;
  const path = join(dir, `${name}-payloads.bin`);
  if (feed !== "copied") {
    writeFileSync(path, Buffer.concat(events.filter((e) => e.seg >= 0).map((e) => e.flow.segs[e.seg]!.data)));
    const fence = p.blockFence();
    expect(fence !== undefined, "a processor on its own thread gives a block fence").toBe(threaded);
    if (feed === "pinned") vi.stubEnv("FLOWPLANE_L7_FILE", "0");
    const writer = feed === "file-open" ? openSync(path, "r+") : -1;
    src = ChunkedSource.open(path, 65536, fence);
    vi.unstubAllEnvs();
    if (writer >= 0) closeSync(writer);
  }
  let written = "";
  const scratch = Buffer.alloc(1 << 18);
  let lastTick = events[0]?.ts ?? T0;
  let now = lastTick;
  for (const [k, e] of events.entries()) {
    if (feed === "file-written" && threaded && k === events.length >> 1)
      written = openForWritingElsewhere(path);
    now = Math.max(now, e.ts);
    if (e.ts - lastTick >= 1_000_000) {
      p.tick(e.ts);
      lastTick = e.ts;
    }
    const slot = slots.get(e.flow)!;
    if (e.seg < 0) {
      p.onFlowEnd(slot, e.ts);
      continue;
    }
    const s = e.flow.segs[e.seg]!;
    const n = s.data.length;
    if (src) {
      expect(src.ensure(n) || n === 0).toBe(true);
      p.onPayload(slot, s.dir, src.buf, src.pos, n, s.wireLen, s.seq, s.ts);
      src.pos += n;
    } else {
      const at = 4096 - (n & 7);
      scratch.set(s.data, at);
      p.onPayload(slot, s.dir, scratch, at, n, s.wireLen, s.seq, s.ts);
      // Whatever the processor (or its thread) needs later must have been copied.
      scratch.fill(0x41, at, at + n + 1);
    }
  }
  p.flush(now);
  const direct = p.directOutput();
  const reads = p.captureReads();
  if (feed === "file-written" && threaded) expect(written, "the other process's open").toBe("EAGAIN");
  src?.close();
  closeSync(fds[0]);
  closeSync(fds[1]);
  const fromFiles = threaded;
  return {
    l7: fromFiles ? readFileSync(l7Path, "latin1") : Buffer.concat(chunks.l7).toString("latin1"),
    am: fromFiles ? readFileSync(amPath, "latin1") : Buffer.concat(chunks.am).toString("latin1"),
    l7Rows: counts.l7,
    amRows: counts.am,
    jsRows,
    stats: p.stats(),
    threaded: p.blockFence() !== undefined,
    direct,
    reads,
  };
}

/** Whether the file system of `d` takes O_DIRECT (tmpfs before Linux 6.6 does not). */
function takesDirect(d: string): boolean {
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_DIRECT;
  try {
    closeSync(openSync(join(d, "probe-direct"), flags));
    return true;
  } catch {
    return false;
  }
}

function makeFlows(seed: number, n: number, cfg: GenConfig): GenFlow[] {
  const flows: GenFlow[] = [];
  for (let i = 0; i < n; i++) flows.push(genFlow(seed, i, cfg, T0 + ((i * 7919) % 20) * 1_000_000));
  return flows;
}

const lines = (s: string) => s.split("\n").filter((l) => l !== "").length;

/** One generated event to p: a segment, or a flow's end (a flow's slot is its place in meta + 1). */
function feed(p: L7Processor, meta: GenFlow[], e: ReturnType<typeof eventsOf>[number]): void {
  const slot = meta.indexOf(e.flow) + 1;
  if (e.seg < 0) p.onFlowEnd(slot, e.ts);
  else {
    const s = e.flow.segs[e.seg]!;
    p.onPayload(slot, s.dir, s.data, 0, s.data.length, s.wireLen, s.seq, s.ts);
  }
}

describe("the native row path on its own thread", () => {
  const cases: [string, GenConfig, Partial<L7ProcessorOptions>][] = [
    ["clean keep-alive traffic", { hostility: 0, extraHeaders: [] }, {}],
    [
      "damaged traffic, short timeouts",
      { hostility: 1, extraHeaders: ["x-req"] },
      { requestTimeoutUs: 2_000_000 },
    ],
  ];
  for (const [title, cfg, opts] of cases) {
    it(`${title}: the same bytes and stats as the synchronous native path`, () => {
      const flows = makeFlows(title.length * 7717, 600, cfg);
      // The feeds differ in the byte after a segment (the method check reads it, as the JS does
      // in the whole array), so each is compared with the synchronous run of the same feed.
      const reads = {
        copied: "blocks",
        pinned: "blocks",
        file: "file",
        "file-written": "file, then pread",
        "file-open": "blocks",
      };
      for (const feed of ["copied", "pinned", "file", "file-written", "file-open"] as const) {
        const sync = run(`${title.length}-${feed}-sync`, flows, feed, false, opts);
        expect(sync.threaded).toBe(false);
        expect(lines(sync.l7)).toBeGreaterThan(500);
        expect(sync.l7Rows).toBe(lines(sync.l7));
        const t = run(`${title.length}-${feed}`, flows, feed, true, opts);
        expect(t.threaded, feed).toBe(true);
        expect(t.reads, `${feed}: how the thread read the capture`).toBe(reads[feed]);
        expect(t.l7 === sync.l7, `${feed}: l7_flow_log bytes`).toBe(true);
        expect(t.am === sync.am, `${feed}: application_metrics bytes`).toBe(true);
        expect(t.l7Rows, `${feed}: rows reported to the sink`).toBe(sync.l7Rows);
        expect(t.amRows, `${feed}: metrics rows reported to the sink`).toBe(sync.amRows);
        expect(t.jsRows, `${feed}: rows of the JS path`).toEqual(sync.jsRows);
        expect(t.stats, `${feed}: stats`).toEqual(sync.stats);
      }
    });
  }

  /** A keep-alive flow of POSTs of `bodyBytes` answered with empty responses, the requests single segments. */
  function posts(bodyBytes: number, path: string): { req: Buffer; resp: Buffer } {
    const body = "x".repeat(bodyBytes);
    const req = Buffer.from(
      `POST ${path} HTTP/1.1\r\nHost: a\r\nContent-Length: ${bodyBytes}\r\n\r\n${body}`,
      "latin1",
    );
    return { req, resp: Buffer.from("HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", "latin1") };
  }

  /**
   * One flow fed by `drive` to a processor on its own thread or not: its l7_flow_log (from the
   * thread's file, or the sink's bytes) and how the thread read the capture.
   */
  function oneFlow(
    name: string,
    threaded: boolean,
    drive: (p: L7Processor) => number,
  ): { rows: string; reads: string } {
    const meta = {
      flowId: "77",
      clientIp: "10.0.0.1",
      clientPort: 40000,
      serverIp: "10.0.0.2",
      serverPort: 80,
      ipProtocol: 6,
    };
    const l7Path = join(dir, `${name}-${threaded}.jsonl`);
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_APPEND;
    const fds: [number, number] = [
      openSync(l7Path, flags),
      openSync(join(dir, `${name}-am-${threaded}.jsonl`), flags),
    ];
    const chunks: Buffer[] = [];
    const p = createL7Processor({
      describeFlow: () => meta,
      rawRows: {
        l7: (b, len) => chunks.push(Buffer.from(b.subarray(0, len))),
        appMetrics: () => {},
        ...(threaded ? { fds } : {}),
      },
    });
    const ts = drive(p);
    p.onFlowEnd(1, ts);
    p.flush(ts);
    const reads = p.captureReads();
    closeSync(fds[0]);
    closeSync(fds[1]);
    return {
      rows: threaded ? readFileSync(l7Path, "latin1") : Buffer.concat(chunks).toString("latin1"),
      reads,
    };
  }

  it("copies segments up to the capture limit through its 1 MiB ring, wrapping it", () => {
    // 250 KiB requests from a reused buffer: every one is copied into the ring, which wraps
    // every few segments.
    const { req, resp } = posts(250 * 1024, "/up");
    const outputs = [false, true].map((threaded) =>
      oneFlow("big", threaded, (p) => {
        const scratch = Buffer.alloc(req.length + 64);
        const seq = [1000, 5000];
        let ts = T0;
        for (let i = 0; i < 24; i++) {
          for (const [d, m] of [
            [0, req],
            [1, resp],
          ] as const) {
            m.copy(scratch, 8);
            ts += 1000;
            p.onPayload(1, d, scratch, 8, m.length, m.length, seq[d]!, ts);
            scratch.fill(0x41);
            seq[d]! += m.length;
          }
        }
        return ts;
      }),
    );
    expect(lines(outputs[0]!.rows)).toBe(24);
    expect(outputs[1]!.rows === outputs[0]!.rows, "the thread's rows are the synchronous path's").toBe(true);
  });

  it("reads segments longer than its window's margin from the file itself, the reader's buffer grown for them", () => {
    // 300 KiB requests: past FP_FWIN_OVER (256 KiB), so a request near a window's end widens it;
    // read from a file in 64 KiB blocks, the source grows its one buffer for them.
    const { req, resp } = posts(300 * 1024, "/big");
    const path = join(dir, "big-file.bin");
    const pairs = 150; // ~44 MiB: more than one 32 MiB window
    // Skipped filler first, so that a request starts 1000 bytes before the first window's end.
    const edge = 32 * 1024 * 1024 - 1000;
    const pad = edge - Math.floor(edge / (req.length + resp.length)) * (req.length + resp.length);
    writeFileSync(
      path,
      Buffer.concat([Buffer.alloc(pad), ...Array.from({ length: pairs }, () => [req, resp]).flat()]),
    );
    const outputs = [false, true].map((threaded) =>
      oneFlow("big-file", threaded, (p) => {
        const src = ChunkedSource.open(path, 65536, threaded ? p.blockFence() : undefined);
        for (let left = pad; left > 0; ) {
          const n = Math.min(left, 65536);
          expect(src.ensure(n)).toBe(true);
          src.pos += n;
          left -= n;
        }
        const seq = [1000, 5000];
        let ts = T0;
        for (let i = 0; i < pairs; i++) {
          for (const [d, m] of [
            [0, req],
            [1, resp],
          ] as const) {
            expect(src.ensure(m.length)).toBe(true);
            ts += 1000;
            p.onPayload(1, d, src.buf, src.pos, m.length, m.length, seq[d]!, ts);
            src.pos += m.length;
            seq[d]! += m.length;
          }
        }
        src.close();
        return ts;
      }),
    );
    expect(outputs[1]!.reads).toBe("file");
    expect(lines(outputs[0]!.rows)).toBe(pairs);
    expect(outputs[1]!.rows === outputs[0]!.rows, "the thread's rows are the synchronous path's").toBe(true);
  });

  it("a failed write of the thread is reported at flush, with what to check", () => {
    const full = openSync("/dev/full", "w");
    const meta = makeFlows(9, 30, { hostility: 0, extraHeaders: [] });
    const slots = new Map(meta.map((f, i) => [i + 1, f.meta]));
    const p = createL7Processor({
      describeFlow: (slot) => slots.get(slot)!,
      rawRows: { l7: () => {}, appMetrics: () => {}, fds: [full, full] },
    });
    expect(p.blockFence()).toBeDefined();
    let last = T0;
    for (const e of eventsOf(meta)) {
      last = Math.max(last, e.ts);
      feed(p, meta, e);
    }
    try {
      expect(() => p.flush(last)).toThrow(/write failed \(ENOSPC, errno 28\).*disk space/);
    } finally {
      closeSync(full);
    }
  });

  for (const direct of ["0", "1"]) {
    it(`the thread writes the JSONL writers' chunks too: in order, into its own l7_flow_log and another file, a row longer than a slot (FLOWPLANE_L7_DIRECT=${direct})`, () => {
      vi.stubEnv("FLOWPLANE_L7_DIRECT", direct);
      // Writer a is the thread's l7_flow_log (the JS rows of other protocols, as in analyze).
      const a = new JsonlWriter(join(dir, `sink-a-${direct}.jsonl`));
      const b = new JsonlWriter(join(dir, `sink-b-${direct}.jsonl`));
      const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_APPEND;
      const amFd = openSync(join(dir, `sink-am-${direct}.jsonl`), flags);
      const meta = makeFlows(11, 40, { hostility: 0, extraHeaders: [] });
      const slots = new Map(meta.map((f, i) => [i + 1, f.meta]));
      const p = createL7Processor({
        describeFlow: (slot) => slots.get(slot)!,
        rawRows: { l7: () => {}, appMetrics: () => {}, fds: [a.appendFd, amFd] },
      });
      const sink = p.chunkSink();
      expect(sink, "a processor on its own thread writes chunks").toBeDefined();
      a.useSink(sink!);
      b.useSink(sink!);
      const want = { a: [] as string[], b: [] as string[] };
      let i = 0;
      let last = T0;
      for (const e of eventsOf(meta)) {
        last = Math.max(last, e.ts);
        feed(p, meta, e);
        // ~6 MiB per file, and once a row of 1.5 MiB (past a slot: written as two commands).
        for (let k = 0; k < 40; k++, i++) {
          const row = { i, pad: "x".repeat(i === 5000 ? 1_500_000 : (i * 37) % 300) };
          const w = i % 3 === 0 ? b : a;
          w.write(row);
          (w === a ? want.a : want.b).push(JSON.stringify(row));
        }
      }
      p.flush(last);
      const rows = p.stats().rows;
      const wentDirect = p.directOutput();
      a.close();
      b.close();
      closeSync(amFd);
      expect(i).toBeGreaterThan(5000);
      expect(wentDirect).toBe(direct === "1" && takesDirect(dir));
      const inA = readFileSync(join(dir, `sink-a-${direct}.jsonl`), "utf8").split("\n");
      expect(inA.pop()).toBe("");
      const js = inA.filter((l) => l.startsWith('{"i":'));
      expect(
        js.length === want.a.length && js.every((l, k) => l === want.a[k]),
        "file a: the JS rows, in order",
      ).toBe(true);
      expect(inA.length - js.length, "file a: the thread's rows").toBe(rows);
      expect(rows).toBeGreaterThan(0);
      const inB = readFileSync(join(dir, `sink-b-${direct}.jsonl`), "utf8");
      expect(inB === `${want.b.join("\n")}\n`, "file b").toBe(true);
    });
  }

  it("l7_flow_log and application_metrics go direct (O_DIRECT) once their page-cache writes are slow, or from the start: the same bytes", () => {
    const ok = takesDirect(dir);
    const flows = makeFlows(4242, 1500, { hostility: 0, extraHeaders: ["x-req"] });
    const sync = run("dio-sync", flows, "pinned", false);
    expect(sync.l7.length, "several of the thread's 1 MiB buffers").toBeGreaterThan(3 << 20);
    const same = (t: Out, what: string) => {
      expect(t.threaded, what).toBe(true);
      expect(t.l7 === sync.l7, `${what}: l7_flow_log bytes`).toBe(true);
      expect(t.am === sync.am, `${what}: application_metrics bytes`).toBe(true);
      expect(t.stats, `${what}: stats`).toEqual(sync.stats);
    };
    // Every write counts as slow (1 ns a MiB), judged 64 KiB at a time: both files switch early,
    // mid-file, after a size that is not a multiple of 4096.
    const switched = run("dio-switch", flows, "pinned", true, {}, { directSlow: [1, 65536] });
    same(switched, "switched");
    expect(switched.direct, "went direct (where the file system takes it)").toBe(ok);
    // No write is slow enough: the page cache throughout.
    const never = run("dio-never", flows, "pinned", true, {}, { directSlow: [1e15, 65536] });
    same(never, "page cache");
    expect(never.direct).toBe(false);
    vi.stubEnv("FLOWPLANE_L7_DIRECT", "1");
    const forced = run("dio-forced", flows, "copied", true);
    expect(forced.direct, "FLOWPLANE_L7_DIRECT=1").toBe(ok);
    const syncCopied = run("dio-sync-copied", flows, "copied", false);
    expect(forced.l7 === syncCopied.l7 && forced.am === syncCopied.am, "forced: the same bytes").toBe(true);
    vi.stubEnv("FLOWPLANE_L7_DIRECT", "0");
    expect(
      run("dio-off", flows, "pinned", true, {}, { directSlow: [1, 65536] }).direct,
      "FLOWPLANE_L7_DIRECT=0",
    ).toBe(false);
    vi.stubEnv("FLOWPLANE_L7_DIRECT", "yes");
    const bad = () =>
      createL7Processor({
        describeFlow: () => flows[0]!.meta,
        rawRows: { l7: () => {}, appMetrics: () => {} },
      });
    expect(bad).toThrow(/FLOWPLANE_L7_DIRECT must be 0, 1 or slow \(got "yes"\)/);
  });

  it("a failed chunk write on the thread is thrown by the writer's close, naming the file", () => {
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_APPEND;
    const fds: [number, number] = [
      openSync(join(dir, "fail-l7.jsonl"), flags),
      openSync(join(dir, "fail-am.jsonl"), flags),
    ];
    const p = createL7Processor({
      describeFlow: () => makeFlows(1, 1, { hostility: 0, extraHeaders: [] })[0]!.meta,
      rawRows: { l7: () => {}, appMetrics: () => {}, fds },
    });
    const w = new JsonlWriter("/dev/full");
    w.useSink(p.chunkSink()!);
    let err: NodeJS.ErrnoException | undefined;
    try {
      for (let i = 0; i < 30_000; i++) w.write({ i, pad: "f".repeat(100) });
      w.close();
    } catch (e) {
      err = e as NodeJS.ErrnoException;
    } finally {
      closeSync(fds[0]);
      closeSync(fds[1]);
    }
    expect(err?.code).toBe("ENOSPC");
    expect(err?.message).toMatch(/no space left on device.*\/dev\/full/);
  });

  it("FLOWPLANE_L7_THREAD=0 keeps the native path synchronous", () => {
    vi.stubEnv("FLOWPLANE_L7_THREAD", "0");
    const t = run("off", makeFlows(5, 20, { hostility: 0, extraHeaders: [] }), "copied", true);
    expect(t.threaded).toBe(false);
    expect(t.l7Rows).toBeGreaterThan(0);
    expect(t.l7, "nothing written to the files by a thread").toBe("");
  });
});
