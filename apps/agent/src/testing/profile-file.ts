/** Repeats a single-threaded analysis of one capture (for --cpu-prof): `profile-file.ts <capture> [runs]`. */
import { analyzeFileSync } from "../analyze.ts";

const runs = Number(process.argv[3] ?? 5);
for (let i = 0; i < runs; i++) {
  const r = analyzeFileSync(process.argv[2] as string, {
    maxFlows: 100_000,
    onL4: () => {},
    onNetworkMetrics: () => {},
  });
  console.log(`${Math.round(r.elapsedMs)} ms, ${Math.round(r.packetsPerSecond)} packets/s`);
}
