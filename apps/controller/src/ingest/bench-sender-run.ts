import { spawn } from "node:child_process";

/** The line bench-sender.ts prints as its timed window starts. */
export const WINDOW_LINE = '{"phase":"window"}';

/** What bench-sender.ts answers: rows accepted, the window's seconds, its CPU, the machine's busy cores. */
export type TSenderResult = { accepted: number; seconds: number; cpuS: number; busyCores: number };

/**
 * Runs bench-sender.ts in a child process (the agents' side of a bench); its answer is one JSON line
 * on stdout. `onWindow` is called when the sender starts its timed window (after its warm-up), so
 * the caller can take its CPU baselines there.
 */
export async function runSender(
  args: Record<string, string | number>,
  onWindow?: () => void,
): Promise<TSenderResult> {
  const main = new URL("./bench-sender.ts", import.meta.url).pathname;
  const child = spawn(process.execPath, ["--import", "tsx", main], {
    env: { ...process.env, BENCH_SENDER: JSON.stringify(args) },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  let windowSeen = false;
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
    if (!windowSeen && out.includes(WINDOW_LINE)) {
      windowSeen = true;
      onWindow?.();
    }
  });
  const code = await new Promise<number | null>((r) => child.once("exit", r));
  const line = out.trim().split("\n").pop() ?? "";
  if (code !== 0) throw new Error(`bench sender exited ${code}: ${line}`);
  return JSON.parse(line) as TSenderResult;
}
