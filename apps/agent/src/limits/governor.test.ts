import { ZAgentConfig, ZAgentOverload } from "@flowplane/protocol";
import { describe, expect, it } from "vitest";
import { Governor, type LoadSample, type TLimits } from "./governor.ts";

const MiB = 1024 * 1024;
const limits = (over: Partial<TLimits> = {}): TLimits => ({
  ...ZAgentConfig.parse({}).limits,
  maxCpuPct: 50,
  maxMemBytes: 512 * MiB,
  maxPps: 1000,
  maxBps: 1_000_000,
  maxSendRowsPerS: 100,
  ...over,
});
const idle: LoadSample = { cpuHostPct: 5, rssBytes: 100 * MiB };

/** A governor on a fake clock, and a driver that offers `pps` packets each second then ticks. */
function setup(l: TLimits | null = limits()) {
  let now = 0;
  const g = new Governor(l ?? undefined, { now: () => now });
  const steps: string[] = [];
  g.onStep(() => steps.push(g.step));
  const second = (pps: number, sample: LoadSample = idle, wire = 100) => {
    let admitted = 0;
    for (let i = 0; i < pps; i++) {
      now += 1000 / Math.max(1, pps);
      if (g.admit(wire)) admitted++;
    }
    if (pps === 0) now += 1000;
    g.tick(sample);
    return admitted;
  };
  return { g, steps, second, advance: (ms: number) => (now += ms) };
}

describe("overload governor", () => {
  it("without limits lets everything through and stays normal", () => {
    const { g, second } = setup(null);
    expect(second(50_000, { cpuHostPct: 99, rssBytes: 10_000 * MiB })).toBe(50_000);
    expect(g.step).toBe("normal");
    expect(g.report().shedPackets).toBe(0);
  });

  it("caps processed packets/s at maxPps, counts the rest as shed and degrades at once", () => {
    const { g, second } = setup();
    const admitted: number[] = [];
    for (let s = 0; s < 10; s++) admitted.push(second(5000));
    // The first second spends the full bucket; from then on each second gets one second's budget.
    for (const a of admitted.slice(1)) expect(a).toBeLessThanOrEqual(1000);
    for (const a of admitted.slice(2)) expect(a).toBeGreaterThan(900); // the sampler uses the budget
    const r = g.report();
    expect(g.step).toBe("shedding");
    expect(g.runState).toBe("degraded");
    expect(r.reason).toMatch(/5000 packets\/s above maxPps 1000/);
    expect(r.offeredPackets).toBe(50_000);
    expect(r.processedPackets + r.shedPackets).toBe(r.offeredPackets);
    expect(r.shedBytes).toBe(r.shedPackets * 100);
    expect(r.keepRatio).toBeLessThan(0.25);
    expect(ZAgentOverload.safeParse(r).success).toBe(true);
  });

  it("spreads the budget over the second instead of spending it on the first packets", () => {
    const { g, second } = setup();
    second(10_000);
    second(10_000);
    // Packets are admitted about one in ten all through the next second, not the first 1000.
    let firstHalf = 0;
    let secondHalf = 0;
    for (let i = 0; i < 10_000; i++) {
      if (g.admit(100)) {
        if (i < 5000) firstHalf++;
        else secondHalf++;
      }
    }
    expect(secondHalf).toBeGreaterThan(350);
    expect(firstHalf).toBeLessThanOrEqual(650);
  });

  it("caps bytes/s at maxBps", () => {
    const { g, second } = setup(limits({ maxPps: 1_000_000, maxBps: 150_000 }));
    const admitted: number[] = [];
    for (let s = 0; s < 6; s++) admitted.push(second(1000, idle, 1500));
    for (const a of admitted.slice(1)) expect(a * 1500).toBeLessThanOrEqual(150_000);
    expect(g.report().reason).toMatch(/bytes\/s above maxBps 150000/);
  });

  it("recovers step by step, only after load stays below 80 % of the limits", () => {
    const { g, second, steps } = setup();
    for (let s = 0; s < 3; s++) second(5000);
    expect(g.step).toBe("shedding");
    // 900/s is under the cap but above 80 %: hysteresis holds the step.
    for (let s = 0; s < 10; s++) second(900);
    expect(g.step).toBe("shedding");
    // 700/s: calm; four calm seconds are not enough, the fifth steps down.
    for (let s = 0; s < 4; s++) second(700);
    expect(g.step).toBe("shedding");
    expect(second(700)).toBe(700);
    expect(g.step).toBe("normal");
    expect(g.report().reason).toBe("");
    expect(steps).toEqual(["shedding", "normal"]);
  });

  it("escalates on sustained CPU: sampling, then protective (no L7), then capture stopped", () => {
    const { g, second, steps } = setup(limits({ maxPps: 1_000_000 }));
    const hot: LoadSample = { cpuHostPct: 90, rssBytes: 100 * MiB };
    second(1000, hot);
    second(1000, hot);
    expect(g.step).toBe("normal"); // a two-second spike (GC, a burst) is not overload
    second(1000, hot);
    expect(g.step).toBe("shedding");
    expect(g.reason).toMatch(/CPU 90% of host above maxCpuPct 50/);
    second(1000, hot);
    expect(g.report().keepRatio).toBeLessThan(0.6); // in step 1 the sampler cuts with the overshoot
    second(1000, hot);
    second(1000, hot);
    expect(g.step).toBe("protective");
    expect(g.runState).toBe("protective");
    for (let s = 0; s < 3; s++) second(1000, hot);
    expect(g.step).toBe("capture_stopped");
    expect(second(1000, hot)).toBe(0);
    expect(g.report().stoppedPackets).toBe(1000);
    for (let s = 0; s < 10; s++) second(1000, hot);
    expect(g.step).toBe("capture_stopped"); // no step above the last
    expect(g.report().escalations).toBe(3);

    // Load falls: one step down per 5 calm seconds.
    const cool: LoadSample = { cpuHostPct: 10, rssBytes: 100 * MiB };
    for (let s = 0; s < 5; s++) second(0, cool);
    expect(g.step).toBe("protective");
    for (let s = 0; s < 5; s++) second(100, cool);
    expect(g.step).toBe("shedding");
    for (let s = 0; s < 5; s++) second(100, cool);
    expect(g.step).toBe("normal");
    expect(second(100, cool)).toBe(100);
    expect(steps).toEqual(["shedding", "protective", "capture_stopped", "protective", "shedding", "normal"]);
  });

  it("escalates on memory above maxMemBytes and says so", () => {
    const { g, second } = setup();
    const fat: LoadSample = { cpuHostPct: 5, rssBytes: 700 * MiB };
    for (let s = 0; s < 6; s++) second(10, fat);
    expect(g.step).toBe("protective");
    expect(g.reason).toBe("memory 700 MiB above maxMemBytes 512 MiB");
  });

  it("holds rows above maxSendRowsPerS and refills at the limit", () => {
    const { g, advance } = setup();
    expect(g.takeRows(60)).toBe(true);
    expect(g.takeRows(60)).toBe(true); // the bucket goes below zero for one batch
    expect(g.takeRows(60)).toBe(false);
    g.heldRows(60);
    advance(100); // 100 - 120 + 10: still in debt
    expect(g.takeRows(60)).toBe(false);
    advance(200);
    expect(g.takeRows(60)).toBe(true);
    g.tick(idle);
    const r = g.report();
    expect(r.sentRows).toBe(180);
    expect(g.sendBatchRows(5000)).toBe(100);
    expect(r.heldRows).toBe(60);
    expect(g.step).toBe("shedding");
    expect(r.reason).toMatch(/60 rows held in the spool/);
  });

  it("applies new limits at once and recovers under them", () => {
    const { g, second } = setup();
    for (let s = 0; s < 3; s++) second(5000);
    expect(g.step).toBe("shedding");
    g.setLimits(limits()); // the same limits again (another field of the config changed)
    expect(second(5000)).toBeLessThanOrEqual(1000); // no second budget within the second
    g.setLimits(limits({ maxPps: 100_000 }));
    expect(second(5000)).toBe(5000); // the new cap applies to the very next packet
    for (let s = 0; s < 4; s++) second(5000);
    expect(g.step).toBe("normal");
    g.setLimits(undefined);
    expect(second(1_000_000 / 100)).toBe(10_000);
  });
});
