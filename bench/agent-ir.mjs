// `npm run bench -- agent-ir [--l7] [--packets N] [--capture web]`: instructions per packet of `analyzeFile` on
// the bench capture, counted by valgrind's callgrind. Unlike packets/s, the count barely moves
// with the load of a shared machine, so it can judge an optimisation of a few percent.
//
// The agent's analyze path is bundled with esbuild (no tsx in the count) and run in
// `node --single-threaded` (JIT compilation and GC on the main thread, so they are counted
// and the count is repeatable) twice: on a capture holding only the first packet, and on the
// first N packets (default all). Instructions per packet = (full − one-packet) / (N − 1): a
// cold process, as the `agent` bench runs it — decode, flows, metrics, JSONL out, plus JIT
// warm-up and GC. A perf map names the JIT code (top functions printed).
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureHttpCapture, ensureRealCapture } from "./make-capture.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, "..");

const ENTRY = `
import { analyzeFileSync } from ${JSON.stringify(join(ROOT, "apps/agent/src/analyze.ts"))};
import { createL7Processor } from ${JSON.stringify(join(ROOT, "apps/agent/src/l7/index.ts"))};
const [file, out, l7] = process.argv.slice(2);
const r = analyzeFileSync(file, {
  outDir: out,
  maxFlows: 2_000_000,
  startSeconds: 1,
  ...(l7 === "l7" ? { l7: {}, createL7: createL7Processor } : {}),
});
process.stdout.write(JSON.stringify({ packets: r.stats.packets, l4: r.l4Rows, l7: r.l7Rows }) + "\\n");
`;

function callgrind(dir, bundle, file, l7, label) {
  const cg = join(dir, `cg.${label}`);
  const r = spawnSync(
    "valgrind",
    [
      "--tool=callgrind",
      "--smc-check=all",
      `--callgrind-out-file=${cg}`,
      process.execPath,
      "--single-threaded",
      "--perf-basic-prof",
      // Extra V8 flags to try (space-separated), e.g. AGENT_IR_NODE_FLAGS=--max-inlined-bytecode-size=600
      ...(process.env.AGENT_IR_NODE_FLAGS ?? "").split(" ").filter(Boolean),
      bundle,
      file,
      join(dir, `out-${label}`),
      l7 ? "l7" : "x",
    ],
    { encoding: "utf8", maxBuffer: 1 << 26 },
  );
  const m = /Collected : (\d+)/.exec(r.stderr);
  const pid = /^==(\d+)==/m.exec(r.stderr)?.[1];
  if (r.status !== 0 || !m) throw new Error(`callgrind failed (exit ${r.status}): ${r.stderr.slice(-800)}`);
  return { ir: Number(m[1]), cg, map: pid ? `/tmp/perf-${pid}.map` : "", out: JSON.parse(r.stdout.trim()) };
}

/** JIT functions by instructions, from callgrind's unnamed addresses and node's perf map. */
export function jitTop(cg, mapPath, packets, n = 12) {
  let map;
  try {
    map = readFileSync(mapPath, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l, i) => {
        const [a, s, ...name] = l.split(" ");
        return { a: Number.parseInt(a, 16), s: Number.parseInt(s, 16), name: name.join(" "), i };
      })
      .sort((x, y) => x.a - y.a);
  } catch {
    return [];
  }
  const text = execFileSync("callgrind_annotate", ["--threshold=100", cg], {
    encoding: "utf8",
    maxBuffer: 1 << 28,
  });
  const sums = new Map();
  for (const line of text.split("\n")) {
    const m = /^\s*([\d,]+)\s+(?:\([^)]*\)\s+)?\?\?\?:0x([0-9a-f]+)/.exec(line);
    if (!m) continue;
    const ir = Number(m[1].replaceAll(",", ""));
    const addr = Number.parseInt(m[2], 16);
    let lo = 0;
    let hi = map.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (map[mid].a <= addr) lo = mid;
      else hi = mid - 1;
    }
    // Code space is reused: of the entries covering the address, the last one written wins.
    let best = null;
    for (let j = lo; j >= 0 && j > lo - 200; j--) {
      if (map[j].a <= addr && addr < map[j].a + map[j].s && (best === null || map[j].i > best.i))
        best = map[j];
    }
    const name = best ? best.name.replace(/ file:\/\/.*$/, "") : "(unnamed)";
    sums.set(name, (sums.get(name) ?? 0) + ir);
  }
  return [...sums]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, ir]) => `${(ir / packets).toFixed(0).padStart(6)}  ${name}`);
}

export async function benchAgentIr(argv = []) {
  for (const t of ["valgrind", "callgrind_annotate", "editcap"]) {
    if (spawnSync("sh", ["-c", `command -v ${t}`]).status !== 0)
      throw new Error(`${t} is missing (valgrind, wireshark-common)`);
  }
  const l7 = argv.includes("--l7");
  const pi = argv.indexOf("--packets");
  // --capture web: the HTTP-heavy capture (web-1m.pcap) instead of real-1m.pcap.
  const ci = argv.indexOf("--capture");
  const real = ci >= 0 && argv[ci + 1] === "web" ? await ensureHttpCapture() : await ensureRealCapture();
  const n = pi >= 0 ? Number(argv[pi + 1]) : real.packets;
  const dir = mkdtempSync(join(tmpdir(), "flowplane-ir-"));
  try {
    const entry = join(dir, "entry.ts");
    writeFileSync(entry, ENTRY);
    const bundle = join(dir, "entry.mjs");
    const { build } = await import("esbuild");
    await build({
      entryPoints: [entry],
      bundle: true,
      platform: "node",
      format: "esm",
      outfile: bundle,
      logLevel: "warning",
    });
    const one = join(dir, "one.pcap");
    // -F pcap: editcap writes pcapng by default, whose reader is not the one the bench measures.
    execFileSync("editcap", ["-F", "pcap", "-r", real.path, one, "1-1"]);
    let file = real.path;
    if (n < real.packets) {
      file = join(dir, "part.pcap");
      execFileSync("editcap", ["-F", "pcap", "-r", real.path, file, `1-${n}`]);
    }
    process.stderr.write(`bench agent-ir: callgrind on 1 packet, then ${n} packets${l7 ? " (L7 on)" : ""}\n`);
    const base = callgrind(dir, bundle, one, l7, "one");
    const full = callgrind(dir, bundle, file, l7, "full");
    const per = (full.ir - base.ir) / (n - 1);
    const lines = [
      `instructions per packet (callgrind, ${l7 ? "L4+L7" : "L4 only"}, cold process, ${n} packets of ${real.path.split("/").pop()}): ${per.toFixed(0)}`,
      `  (${full.ir} − ${base.ir} instructions; rows: ${JSON.stringify(full.out)})`,
      "  top JIT functions, instructions per packet (inlined callees count in their caller):",
      ...jitTop(full.cg, full.map, n).map((l) => `  ${l}`),
    ];
    process.stdout.write(`${lines.join("\n")}\n`);
    rmSync(base.map, { force: true });
    rmSync(full.map, { force: true });
    return { perPacket: per };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
