/**
 * Live capture throughput on lo: the bench capture (bench/out/real-1m.pcap, real loopback
 * traffic; `node bench/make-capture.mjs` makes it) is rewritten to 10.99/16 addresses and a
 * foreign destination MAC (so the IP stack ignores it and other work on lo is not matched by
 * the filter), then `tcpreplay --topspeed` (or --pps) sends it on lo while this process
 * captures it with the full run pipeline (decode, flows, L7, JSONL to a temp dir), once with
 * the libpcap addon and once with `cap`, each in a fresh child process. Prints per backend:
 * packets sent, packets the pipeline saw, kernel received/dropped, the replay rate and the rate
 * the agent kept up with. Root only.
 *   npx tsx apps/agent/src/live/live-bench.ts [--pps N] [--loops N] [--senders N]
 * (--senders: that many tcpreplay processes at once, to push past one tcpreplay's rate)
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const HERE = dirname(fileURLToPath(import.meta.url));
const SRC = join(HERE, "../../../../bench/out/real-1m.pcap");
const FILTER = "net 10.99.0.0/16";

const { values } = parseArgs({
  options: {
    child: { type: "string" },
    pcap: { type: "string" },
    pps: { type: "string" },
    loops: { type: "string", default: "1" },
    senders: { type: "string", default: "1" },
  },
});

interface Result {
  backend: string;
  sent: number;
  seen: number;
  kernelReceived: number | null;
  kernelDropped: number | null;
  replaySeconds: number;
  cpuSeconds: number;
}

async function child(backend: string, pcap: string): Promise<void> {
  const { createPipeline } = await import("../run/pipeline.ts");
  const { BatchingExporter } = await import("../run/exporter.ts");
  const { JsonlSink } = await import("../run/jsonl-sink.ts");
  const { startLiveCapture } = await import("./live-capture.ts");
  const out = mkdtempSync(join(tmpdir(), "flowplane-live-bench-"));
  const pipeline = createPipeline({ exporter: new BatchingExporter(new JsonlSink(out)) });
  const live = startLiveCapture("lo", FILTER, pipeline);
  if (live.backend !== backend) throw new Error(`wanted ${backend}, got ${live.backend} (${live.note})`);
  await new Promise((r) => setTimeout(r, 300));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const args = ["-i", "lo", "--loop", values.loops as string];
  args.push(...(values.pps ? ["--pps", values.pps] : ["--topspeed"]));
  let text = "";
  await Promise.all(
    Array.from({ length: Number(values.senders) }, () => {
      const replay = spawn("tcpreplay", [...args, pcap], { stdio: ["ignore", "pipe", "pipe"] });
      replay.stdout.on("data", (d: Buffer) => {
        text += d.toString();
      });
      return new Promise((r) => replay.on("exit", r));
    }),
  );
  const replaySeconds = (performance.now() - t0) / 1000;
  // Let the capture drain what the kernel ring still holds.
  let last = -1;
  while (pipeline.stats().packets !== last) {
    last = pipeline.stats().packets;
    await new Promise((r) => setTimeout(r, 300));
  }
  const cpu = process.cpuUsage(cpu0);
  live.stop();
  const stats = await pipeline.stop();
  rmSync(out, { recursive: true, force: true });
  const k = live.kernelStats();
  const sent = [...text.matchAll(/Actual: (\d+) packets/g)].reduce((n, m) => n + Number(m[1]), 0);
  const r: Result = {
    backend,
    sent,
    seen: stats.packets,
    kernelReceived: k?.received ?? null,
    kernelDropped: k?.dropped ?? null,
    replaySeconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
  process.stdout.write(`${JSON.stringify(r)}\n`);
}

function main(): void {
  if (!existsSync(SRC)) throw new Error(`${SRC} missing: run node bench/make-capture.mjs first`);
  const work = mkdtempSync(join(tmpdir(), "flowplane-live-bench-"));
  const pcap = join(work, "replay.pcap");
  execFileSync("tcprewrite", [
    "--enet-dmac=02:00:00:00:00:01",
    "--pnat=127.0.0.0/8:10.99.0.0/16",
    "-i",
    SRC,
    "-o",
    pcap,
  ]);
  const rows: Result[] = [];
  for (const backend of ["pcap-addon", "cap"]) {
    const env = { ...process.env, ...(backend === "cap" ? { FLOWPLANE_PCAP_ADDON: "off" } : {}) };
    const extra = [
      ...(values.pps ? ["--pps", values.pps] : []),
      ...["--loops", values.loops as string, "--senders", values.senders as string],
    ];
    const r = spawnSync(
      process.execPath,
      ["--import", "tsx", fileURLToPath(import.meta.url), "--child", backend, "--pcap", pcap, ...extra],
      { env, encoding: "utf8", maxBuffer: 1 << 24 },
    );
    if (r.status !== 0) throw new Error(`${backend}: ${r.stderr}`);
    rows.push(JSON.parse(r.stdout.trim().split("\n").pop() as string) as Result);
  }
  rmSync(work, { recursive: true, force: true });
  const mode = `${values.senders} x tcpreplay ${values.pps ? `--pps ${values.pps}` : "--topspeed"}`;
  console.log(`live capture on lo, ${mode}, ${rows[0]?.sent} packets`);
  for (const r of rows) {
    const lost = r.sent - r.seen;
    console.log(
      `${r.backend.padEnd(10)} seen ${r.seen} (${((100 * r.seen) / r.sent).toFixed(1)}%), lost ${lost}, kernel received ${r.kernelReceived ?? "n/a"} dropped ${r.kernelDropped ?? "n/a"}, replay ${(r.sent / r.replaySeconds / 1e3).toFixed(0)} kpps, kept ${(r.seen / r.replaySeconds / 1e3).toFixed(0)} kpps, agent CPU ${r.cpuSeconds.toFixed(2)} s (${((r.cpuSeconds * 1e6) / Math.max(1, r.seen)).toFixed(2)} µs/packet)`,
    );
  }
}

if (values.child) await child(values.child, values.pcap as string);
else main();
