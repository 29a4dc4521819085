// One measurement of the agent in a fresh process (so peak RSS is this run's alone):
// node --import tsx bench/agent-probe.ts <file> <workers> [outDir] [l7] → one JSON line on stdout.
import { analyzeFile } from "@flowplane/agent/analyze";

const [file, workersArg, outDir, l7] = process.argv.slice(2);
if (!file) {
  process.stderr.write("usage: agent-probe.ts <file> <workers> [outDir] [l7]\n");
  process.exit(2);
}
const workers = Number(workersArg ?? 1);
const r = await analyzeFile(file, {
  workers,
  outDir: outDir || undefined,
  maxFlows: 2_000_000,
  ...(l7 === "l7" ? { l7: {} } : {}),
});
process.stdout.write(
  `${JSON.stringify({
    packets: r.stats.packets,
    flows: r.stats.flowsCreated,
    l7Rows: r.l7Rows,
    maxConcurrentFlows: r.stats.maxConcurrentFlows,
    decodeErrors: r.stats.decodeErrors,
    evictions: r.stats.evictions,
    elapsedMs: r.elapsedMs,
    packetsPerSecond: r.packetsPerSecond,
    workers: r.workers,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
  })}\n`,
);
