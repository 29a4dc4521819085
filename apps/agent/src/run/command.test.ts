import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sharedPcapsDir } from "@flowplane/core/shared-dir";
import { afterAll, describe, expect, it } from "vitest";
import { analyzeFileSync } from "../analyze.ts";
import { runCommand } from "./command.ts";
import { BatchingExporter } from "./exporter.ts";
import { JsonlSink } from "./jsonl-sink.ts";
import { parseSpeed, replayCapture } from "./pcap-replay.ts";
import { createPipeline } from "./pipeline.ts";

const tmp = mkdtempSync(join(tmpdir(), "flowplane-run-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const pcaps = sharedPcapsDir();

const rows = (file: string): Record<string, unknown>[] =>
  readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe("run --pcap", () => {
  for (const name of [
    "erspan-vlan-http-tls.pcap",
    "dns-edns-ecs-ipv4-ipv6.pcap",
    "redis-pubsub-loopback.pcap",
  ]) {
    it(`${name} at max speed yields the same flows as analyze`, async () => {
      const file = join(pcaps, name);
      const out = join(tmp, `max-${name}`);
      const code = await runCommand(["--pcap", file, "--speed", "max", "--out", out]);
      expect(code).toBe(0);
      const analyzed = analyzeFileSync(file);
      const l4 = rows(join(out, "l4_flow_log.jsonl"));
      // Row counts may differ: a long flow is reported again at each minute boundary, and
      // shifting times to now moves those boundaries. Flows and packets may not.
      expect(new Set(l4.map((r) => r.flow_id)).size).toBe(analyzed.stats.flowsCreated);
      const pk = l4.reduce((s, r) => s + Number(r.packets_c2s) + Number(r.packets_s2c), 0);
      expect(pk).toBe(analyzed.stats.flowPackets);
    });
  }

  it("shifts packet times so the first packet is now", async () => {
    const out = join(tmp, "shift");
    const before = Date.now() * 1000;
    expect(await runCommand(["--pcap", join(pcaps, "http1-get.pcap"), "--speed", "max", "--out", out])).toBe(
      0,
    );
    const l4 = rows(join(out, "l4_flow_log.jsonl"));
    expect(Number(l4[0]?.start_time)).toBeGreaterThanOrEqual(before);
    expect(Number(l4[0]?.start_time)).toBeLessThan(before + 60e6);
  });

  it("paces at the given speed and loops forward in time", async () => {
    // dns-udp.pcap spans several seconds; at 100x one pass takes a fraction of a second.
    const file = join(pcaps, "tcp-syn-ack-retrans.pcap");
    const out = join(tmp, "loop");
    const exporter = new BatchingExporter(new JsonlSink(out));
    const pipeline = createPipeline({ exporter, wallClockTicks: false });
    const ac = new AbortController();
    const speed = parseSpeed("1000x");
    expect(speed).toEqual({ kind: "factor", factor: 1000 });
    const t0 = performance.now();
    const replay = replayCapture(file, pipeline, {
      speed: speed ?? { kind: "max" },
      loop: true,
      signal: ac.signal,
    });
    setTimeout(() => ac.abort(), 1500);
    const r = await replay;
    await pipeline.stop();
    expect(r.loops).toBeGreaterThanOrEqual(2);
    expect(performance.now() - t0).toBeGreaterThan(1000);
    const starts = rows(join(out, "l4_flow_log.jsonl")).map((x) => Number(x.start_time));
    expect(new Set(starts).size).toBeGreaterThanOrEqual(2); // each pass later than the one before
  });

  it("each pass of a looped capture makes new flows, not retransmissions of the last pass", async () => {
    const file = join(pcaps, "http1-get.pcap");
    const out = join(tmp, "loop-passes");
    const exporter = new BatchingExporter(new JsonlSink(out));
    const pipeline = createPipeline({ exporter, wallClockTicks: false });
    const ac = new AbortController();
    let passes = 0;
    const counting = {
      ...pipeline,
      endOfPass() {
        pipeline.endOfPass();
        if (++passes === 3) ac.abort();
      },
    };
    await replayCapture(file, counting, { speed: { kind: "max" }, loop: true, signal: ac.signal });
    await pipeline.stop();
    const analyzed = analyzeFileSync(file);
    const l4 = rows(join(out, "l4_flow_log.jsonl"));
    expect(new Set(l4.map((r) => r.flow_id)).size).toBe(3 * analyzed.stats.flowsCreated);
    const retrans = l4.reduce((s, r) => s + Number(r.retrans_c2s) + Number(r.retrans_s2c), 0);
    expect(retrans).toBe(0); // http1-get has none; a pass must not count the previous pass's segments
  });

  it("rejects bad arguments with one line and exit 2", async () => {
    expect(await runCommand(["--pcap", join(pcaps, "http1-get.pcap")])).toBe(2);
    expect(await runCommand(["--pcap", join(pcaps, "http1-get.pcap"), "--speed", "fast", "--out", tmp])).toBe(
      2,
    );
    expect(await runCommand(["--pcap", "/nonexistent.pcap", "--out", tmp])).toBe(2);
    expect(parseSpeed("max")).toEqual({ kind: "max" });
    expect(parseSpeed("0x")).toBeUndefined();
  });
});
