/**
 * The L7 processor alone on a real capture's input, without reader, engine or writer:
 *
 *   node --import tsx apps/agent/src/l7/bench/replay.ts record <capture> <prefix>
 *   node --import tsx apps/agent/src/l7/bench/replay.ts run <prefix> [reps] [protocols|-]
 *
 * `record` runs `analyzeFileSync` with L7 on and writes every call the engine makes into the
 * processor (payload segments with their bytes, flow ends, ticks, the flush) to `<prefix>.data`,
 * `.ev` and `.meta.json` (put them on /dev/shm: the payload bytes of 300 k packets of web-1m.pcap
 * are ~0.9 GB). `run` replays them into a fresh processor `reps` times in one process and prints
 * the CPU seconds of each pass (the first is cold: interpreter, JIT compiles, heap growth; the
 * later ones warm), the rows and application-metrics rows, and with `VERIFY=1` a hash of both
 * (rows as JSON), to check that a change keeps them identical; with `WRITE=<dir>` the rows also go
 * through the JsonlWriter analyze uses, into `<dir>/l7_flow_log.jsonl` and
 * `<dir>/application_metrics.jsonl` (inside each pass's time); with `WARMUP=1` the warm-up that
 * `createL7Processor` runs (../warm-up.ts) runs first, inside the first pass's time. `protocols`
 * (comma-separated; "none" for no protocol) limits detection.
 */
import { createHash } from "node:crypto";
import { closeSync, openSync, readFileSync, writeFileSync, writeSync } from "node:fs";
import { analyzeFileSync } from "../../analyze.ts";
import type { PacketMeta } from "../../decode/packet-meta.ts";
import { JsonlWriter } from "../../output/jsonl-writer.ts";
import type { FlowMeta } from "../index.ts";
import { L7Processor, type L7ProcessorOptions } from "../processor.ts";
import { warmUpL7Once } from "../warm-up.ts";

/** Fields per recorded event: kind, then up to 8 numbers. */
const EV = 9;
const PAYLOAD = 0;
const FLOW_END = 1;
const TICK = 2;
const FLUSH = 3;

function record(capture: string, prefix: string): void {
  const chunks: Buffer[] = [];
  let bytes = 0;
  const ev: number[] = [];
  const metas: FlowMeta[] = [];
  const described = new Set<number>();
  let describe: (slot: number) => FlowMeta = () => {
    throw new Error("no processor");
  };
  class Recording extends L7Processor {
    constructor(o: L7ProcessorOptions) {
      super(o);
      describe = o.describeFlow;
    }
    override onPayload(
      slot: number,
      dir: number,
      buf: Uint8Array,
      off: number,
      len: number,
      wireLen: number,
      tcpSeq: number,
      ts: number,
    ): void {
      let meta = -1;
      if (!described.has(slot)) {
        described.add(slot);
        meta = metas.length;
        metas.push(describe(slot));
      }
      chunks.push(Buffer.from(buf.subarray(off, off + len)));
      ev.push(PAYLOAD, slot, dir, bytes, len, wireLen, tcpSeq, ts, meta);
      bytes += len;
      super.onPayload(slot, dir, buf, off, len, wireLen, tcpSeq, ts);
    }
    // Every payload through onPayload, where it is recorded: the processor's own onPacket queues
    // a native flow's segments without that call.
    override onPacket(
      slot: number,
      dir: number,
      m: PacketMeta,
      buf: Uint8Array,
      frameEnd: number,
      ts: number,
    ): void {
      if (m.laterFragment !== 0 || (m.proto !== 6 && m.proto !== 17)) return;
      const avail = frameEnd - m.payloadOffset;
      const len = Math.max(0, Math.min(avail, m.payloadLen));
      this.onPayload(slot, dir, buf, m.payloadOffset, len, m.payloadLen, m.proto === 6 ? m.seq : 0, ts);
    }
    override onFlowEnd(slot: number, ts: number): void {
      described.delete(slot);
      ev.push(FLOW_END, slot, ts, 0, 0, 0, 0, 0, 0);
      super.onFlowEnd(slot, ts);
    }
    override tick(ts: number): void {
      ev.push(TICK, ts, 0, 0, 0, 0, 0, 0, 0);
      super.tick(ts);
    }
    override flush(ts: number): void {
      ev.push(FLUSH, ts, 0, 0, 0, 0, 0, 0, 0);
      super.flush(ts);
    }
  }
  analyzeFileSync(capture, {
    maxFlows: 2_000_000,
    startSeconds: 1,
    l7: {},
    createL7: (o) => new Recording(o),
  });
  const fd = openSync(`${prefix}.data`, "w");
  for (const c of chunks) writeSync(fd, c);
  closeSync(fd);
  writeFileSync(`${prefix}.ev`, new Float64Array(ev));
  writeFileSync(`${prefix}.meta.json`, JSON.stringify(metas));
  process.stdout.write(`${ev.length / EV} calls, ${bytes} payload bytes, ${metas.length} flows\n`);
}

function run(prefix: string, reps: number, protocols: string | undefined): void {
  const data = readFileSync(`${prefix}.data`);
  const raw = readFileSync(`${prefix}.ev`);
  const ev = new Float64Array(raw.buffer, raw.byteOffset, raw.length / 8);
  const metas = JSON.parse(readFileSync(`${prefix}.meta.json`, "utf8")) as FlowMeta[];
  const verify = process.env.VERIFY === "1";
  const warm = process.env.WARMUP === "1";
  const writeDir = process.env.WRITE;
  const only =
    protocols && protocols !== "-" ? (protocols === "none" ? [] : protocols.split(",")) : undefined;
  const cpu: number[] = [];
  let summary = "";
  for (let r = 0; r < reps; r++) {
    const metaOf = new Map<number, FlowMeta>();
    let rows = 0;
    let appRows = 0;
    const h = createHash("sha256");
    const ha = createHash("sha256");
    const c0 = process.cpuUsage();
    const lw = writeDir ? new JsonlWriter(`${writeDir}/l7_flow_log.jsonl`) : null;
    const aw = writeDir ? new JsonlWriter(`${writeDir}/application_metrics.jsonl`) : null;
    const p = new L7Processor({
      describeFlow: (slot) => metaOf.get(slot)!,
      onL7: verify
        ? (row) => {
            rows++;
            h.update(JSON.stringify(row));
          }
        : lw
          ? (row) => {
              rows++;
              lw.write(row);
            }
          : () => {
              rows++;
            },
      onAppMetrics: verify
        ? (row) => {
            appRows++;
            ha.update(JSON.stringify(row));
          }
        : aw
          ? (row) => {
              appRows++;
              aw.write(row);
            }
          : () => {
              appRows++;
            },
      ...(only ? { protocols: only } : {}),
    });
    // The warm-up createL7Processor runs once per process, counted in the first pass.
    if (warm && r === 0)
      warmUpL7Once((describeFlow) => new L7Processor({ describeFlow, ...(only ? { protocols: only } : {}) }));
    for (let i = 0; i < ev.length; i += EV) {
      const kind = ev[i]!;
      if (kind === PAYLOAD) {
        const slot = ev[i + 1]!;
        if (ev[i + 8]! >= 0) metaOf.set(slot, metas[ev[i + 8]!]!);
        p.onPayload(slot, ev[i + 2]!, data, ev[i + 3]!, ev[i + 4]!, ev[i + 5]!, ev[i + 6]!, ev[i + 7]!);
      } else if (kind === FLOW_END) p.onFlowEnd(ev[i + 1]!, ev[i + 2]!);
      else if (kind === TICK) p.tick(ev[i + 1]!);
      else p.flush(ev[i + 1]!);
    }
    lw?.close();
    aw?.close();
    const c = process.cpuUsage(c0);
    cpu.push(Math.round((c.user + c.system) / 1000) / 1000);
    summary = `${rows} rows, ${appRows} application-metrics rows`;
    if (verify) summary += `, rows ${h.digest("hex").slice(0, 16)}, metrics ${ha.digest("hex").slice(0, 16)}`;
  }
  process.stdout.write(`CPU s per pass ${JSON.stringify(cpu)}; ${summary}\n`);
}

const [cmd, a, b, c] = process.argv.slice(2);
if (cmd === "record" && a && b) record(a, b);
else if (cmd === "run" && a) run(a, Number(b ?? 1), c);
else {
  process.stderr.write(
    "usage: replay.ts record <capture> <prefix> | run <prefix> [reps] [protocols|none|-]\n",
  );
  process.exit(2);
}
