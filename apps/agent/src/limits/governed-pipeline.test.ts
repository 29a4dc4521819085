import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sharedPcapsDir } from "@flowplane/core/shared-dir";
import { ZAgentConfig } from "@flowplane/protocol";
import { afterAll, describe, expect, it } from "vitest";
import { BatchingExporter } from "../run/exporter.ts";
import { JsonlSink } from "../run/jsonl-sink.ts";
import { replayCapture } from "../run/pcap-replay.ts";
import { createPipeline } from "../run/pipeline.ts";
import { governPipeline } from "./governed-pipeline.ts";
import { Governor } from "./governor.ts";

const tmp = mkdtempSync(join(tmpdir(), "flowplane-governed-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const PCAP = join(sharedPcapsDir(), "http1-get.pcap");
const fat = { cpuHostPct: 1, rssBytes: 4 * 1024 ** 3 };

/**
 * The capture through the real pipeline behind a governor after `overSeconds` of memory above its
 * limit, then `calmSeconds` below it (too few to step down, enough for the sampler to open again).
 */
async function run(name: string, overSeconds: number, calmSeconds = 0) {
  let now = 0;
  const g = new Governor(ZAgentConfig.parse({}).limits, { now: () => now });
  const out = join(tmp, name);
  const pipeline = governPipeline(
    createPipeline({ exporter: new BatchingExporter(new JsonlSink(out)), wallClockTicks: false }),
    g,
    { l7: true },
  );
  for (let s = 0; s < overSeconds; s++) {
    now += 1000;
    g.tick(fat);
  }
  for (let s = 0; s < calmSeconds; s++) {
    now += 1000;
    g.tick({ cpuHostPct: 1, rssBytes: 1 });
  }
  await replayCapture(PCAP, pipeline, { speed: { kind: "max" }, loop: false });
  const stats = await pipeline.stop();
  const lines = (table: string) => {
    const f = join(out, `${table}.jsonl`);
    return existsSync(f) ? readFileSync(f, "utf8").split("\n").filter(Boolean).length : 0;
  };
  return { g, stats, l4: lines("l4_flow_log"), l7: lines("l7_flow_log") };
}

describe("governed pipeline", () => {
  it("parses L7 when normal, not in protective mode, and takes no packet with capture stopped", async () => {
    const normal = await run("normal", 0);
    expect(normal.g.step).toBe("normal");
    expect(normal.l7).toBeGreaterThan(0);

    const protective = await run("protective", 6, 4);
    expect(protective.g.step).toBe("protective");
    expect(protective.g.report().keepRatio).toBe(1);
    expect(protective.stats.packets).toBe(normal.stats.packets);
    expect(protective.l4).toBe(normal.l4);
    expect(protective.l7).toBe(0);

    const stopped = await run("stopped", 9);
    expect(stopped.g.step).toBe("capture_stopped");
    expect(stopped.stats.packets).toBe(0);
    expect(stopped.g.report().stoppedPackets).toBe(normal.stats.packets);
  });

  it("keeps L7 off when the configuration turns it off, whatever the governor does", async () => {
    let now = 0;
    const g = new Governor(ZAgentConfig.parse({}).limits, { now: () => now });
    const out = join(tmp, "config-off");
    const pipeline = governPipeline(
      createPipeline({ exporter: new BatchingExporter(new JsonlSink(out)), wallClockTicks: false }),
      g,
      { l7: true },
    );
    pipeline.setL7Enabled(false);
    for (let s = 0; s < 6; s++) {
      now += 1000;
      g.tick(fat);
    }
    for (let s = 0; s < 10; s++) {
      now += 1000;
      g.tick({ cpuHostPct: 1, rssBytes: 1 });
    }
    expect(g.step).toBe("normal"); // back from protective: L7 must stay as the configuration wants
    await replayCapture(PCAP, pipeline, { speed: { kind: "max" }, loop: false });
    await pipeline.stop();
    expect(existsSync(join(out, "l7_flow_log.jsonl"))).toBe(false);
    expect(existsSync(join(out, "l4_flow_log.jsonl"))).toBe(true);
  });
});
