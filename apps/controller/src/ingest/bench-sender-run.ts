import { spawn } from "node:child_process";

/** What bench-sender.ts answers: rows accepted, the window's seconds, its CPU, the machine's busy cores. */
export type TSenderResult = { accepted: number; seconds: number; cpuS: number; busyCores: number };

/** Runs bench-sender.ts in a child process (the agents' side of a bench); its answer is one JSON line on stdout. */
export async function runSender(args: Record<string, string | number>): Promise<TSenderResult> {
  const main = new URL("./bench-sender.ts", import.meta.url).pathname;
  const child = spawn(process.execPath, ["--import", "tsx", main], {
    env: { ...process.env, BENCH_SENDER: JSON.stringify(args) },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  const code = await new Promise<number | null>((r) => child.once("exit", r));
  const line = out.trim().split("\n").pop() ?? "";
  if (code !== 0) throw new Error(`bench sender exited ${code}: ${line}`);
  return JSON.parse(line) as TSenderResult;
}
