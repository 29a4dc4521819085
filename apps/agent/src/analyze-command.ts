/** `flowplane-agent analyze`: argument parsing (zod at the edge) and the one-screen summary. */
import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import { z } from "zod";
import { type AnalyzeResult, analyzeFile } from "./analyze.ts";
import { NIL_UUID } from "./flow/flow-engine.ts";

const Args = z.object({
  file: z.string().min(1),
  out: z.string().min(1),
  workers: z.coerce.number().int().min(1).max(32).default(1),
  vxlanPort: z.coerce.number().int().min(1).max(65535).default(4789),
  orgId: z.uuid().default(NIL_UUID),
  agentId: z.uuid().default(NIL_UUID),
  maxFlows: z.coerce.number().int().min(16).default(1_000_000),
  multi: z.enum(["dispatch", "replicate"]).optional(),
  noL7: z.boolean().default(false),
});

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      out: { type: "string", short: "o" },
      workers: { type: "string", short: "w" },
      "vxlan-port": { type: "string" },
      "org-id": { type: "string" },
      "agent-id": { type: "string" },
      "max-flows": { type: "string" },
      multi: { type: "string" },
      "no-l7": { type: "boolean" },
    },
  });
  const parsed = Args.safeParse({
    file: positionals[0],
    out: values.out,
    workers: values.workers,
    vxlanPort: values["vxlan-port"],
    orgId: values["org-id"],
    agentId: values["agent-id"],
    maxFlows: values["max-flows"],
    multi: values.multi,
    noL7: values["no-l7"],
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    process.stderr.write(
      `flowplane-agent analyze: invalid ${issue?.path.join(".") || "arguments"}: ${issue?.message}\n`,
    );
    return 2;
  }
  const a = parsed.data;
  if (!existsSync(a.file)) {
    process.stderr.write(`flowplane-agent analyze: no such file: ${a.file}\n`);
    return 2;
  }
  const tty = process.stdout.isTTY === true;
  const { size } = await import("node:fs").then((fs) => fs.statSync(a.file));
  const result = await analyzeFile(a.file, {
    outDir: a.out,
    workers: a.workers,
    vxlanPort: a.vxlanPort,
    orgId: a.orgId,
    agentId: a.agentId,
    maxFlows: a.maxFlows,
    multi: a.multi,
    ...(a.noL7 ? {} : { l7: {} }),
    onProgress: tty ? (done) => progressBar(done, size) : undefined,
  });
  if (tty) process.stdout.write("\r\x1b[K");
  process.stdout.write(summary(result, a.out));
  return 0;
}

function progressBar(done: number, total: number): void {
  const frac = total > 0 ? Math.min(1, done / total) : 0;
  const width = 40;
  const n = Math.round(frac * width);
  process.stdout.write(`\r[${"#".repeat(n)}${".".repeat(width - n)}] ${(frac * 100).toFixed(0)}%`);
}

export function summary(r: AnalyzeResult, outDir: string): string {
  const s = r.stats;
  const lines = [
    `file            ${r.file}`,
    `packets         ${s.packets} (${s.bytes} bytes on the wire), ${s.flowPackets} in flows, ${s.nonIp} non-IP`,
    `flows           ${s.flowsCreated} created, ${r.l4Rows} L4 rows, max ${s.maxConcurrentFlows} concurrent, ${s.evictions} evicted`,
    `metrics rows    ${r.metricRows}`,
    ...(r.l7Rows || r.appMetricRows
      ? [`L7 rows         ${r.l7Rows}, application metrics rows ${r.appMetricRows}`]
      : []),
    `decode errors   ${s.decodeErrors}${Object.keys(s.decodeErrorsByKind).length ? ` ${JSON.stringify(s.decodeErrorsByKind)}` : ""}`,
  ];
  if (s.firstErrorOffsets.length) {
    lines.push(`  first at       ${s.firstErrorOffsets.map((e) => `${e.kind}@${e.offset}`).join(", ")}`);
  }
  lines.push(
    `time            ${(r.elapsedMs / 1000).toFixed(3)} s, ${Math.round(r.packetsPerSecond).toLocaleString("en-US")} packets/s, ${r.workers} worker(s)${r.plan ? `, ${r.workersRequested} asked for: ${r.plan}` : ""}`,
    `output          ${outDir}/{l4_flow_log,network_metrics${r.l7Rows || r.appMetricRows ? ",l7_flow_log,application_metrics" : ""}}.jsonl`,
  );
  return `${lines.join("\n")}\n`;
}
