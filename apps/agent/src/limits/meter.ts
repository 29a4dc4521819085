/**
 * The process-wide measures the governor cannot count itself: CPU of every thread (analysis
 * workers and GC included, which is what the host pays) and resident memory.
 */
import { availableParallelism } from "node:os";
import type { LoadSample } from "./governor.ts";

export class ProcessMeter {
  private cpuLast = process.cpuUsage();
  private at = performance.now();
  private readonly cores = Math.max(1, availableParallelism());

  /** CPU since the previous sample as a share of the whole host, and RSS now. */
  sample(): LoadSample {
    const now = performance.now();
    const cpu = process.cpuUsage(this.cpuLast);
    this.cpuLast = process.cpuUsage();
    const wallUs = Math.max(1, (now - this.at) * 1000);
    this.at = now;
    return {
      cpuHostPct: ((cpu.user + cpu.system) / wallUs / this.cores) * 100,
      rssBytes: process.memoryUsage.rss(),
    };
  }
}

/** Ticks the governor once a second with this process's measures; returns the stopper. */
export function driveGovernor(
  governor: { tick(s: LoadSample): void },
  meter = new ProcessMeter(),
): () => void {
  const timer = setInterval(() => governor.tick(meter.sample()), 1000);
  // The governor never keeps a finished run alive.
  timer.unref();
  return () => clearInterval(timer);
}
