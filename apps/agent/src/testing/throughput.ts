/**
 * Local throughput and memory figure: `node --import tsx src/testing/throughput.ts [flows]
 * [dataRounds] [workers]` writes a synthetic capture to the temp dir, analyzes it, prints
 * packets/s and peak RSS. (The formal comparison with tshark and softflowd is `npm run bench`.)
 */
import { rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { analyzeFile } from "../analyze.ts";
import { writeSyntheticPcap } from "./synthetic-pcap.ts";

const flows = Number(process.argv[2] ?? 100_000);
const dataRounds = Number(process.argv[3] ?? 24);
const workers = Number(process.argv[4] ?? 1);
const path = join(tmpdir(), `flowplane-synth-${flows}-${dataRounds}.pcap`);
const n = writeSyntheticPcap(path, { flows, dataRounds });
let l4 = 0;
const cpu0 = process.cpuUsage();
const r = await analyzeFile(path, { workers, maxFlows: Math.max(1_000_000, flows), onL4: () => l4++ });
const cpu = process.cpuUsage(cpu0);
const cpuS = (cpu.user + cpu.system) / 1e6;
const rss = process.resourceUsage().maxRSS / 1024;
console.log(
  JSON.stringify({
    packets: n,
    fileMB: Math.round(statSync(path).size / 1e6),
    flows,
    workers,
    l4Rows: l4 || r.l4Rows,
    maxConcurrentFlows: r.stats.maxConcurrentFlows,
    seconds: +(r.elapsedMs / 1000).toFixed(3),
    packetsPerSecond: Math.round(r.packetsPerSecond),
    // CPU time is the fairer figure on a shared machine (other processes steal wall time).
    cpuSeconds: +cpuS.toFixed(3),
    packetsPerCpuSecond: Math.round(n / cpuS),
    peakRssMB: Math.round(rss),
  }),
);
rmSync(path, { force: true });
