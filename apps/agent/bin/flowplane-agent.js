#!/usr/bin/env node
// Launcher: runs the TypeScript entry through tsx (registered in this process, so worker
// threads started by the agent inherit it through execArgv-free `tsx/esm/api` registration).
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/cli.ts");
const code = await main(process.argv.slice(2));
process.exitCode = code;
