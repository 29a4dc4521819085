#!/usr/bin/env node
// Launcher: registers tsx in this process and runs the TypeScript entry (no build step).
// Worker threads do not use this: they run an esbuild bundle (see src/flow/sharded-analyze.ts).
import { register } from "tsx/esm/api";

register();
try {
  const { main } = await import("../src/cli.ts");
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`flowplane-agent: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
