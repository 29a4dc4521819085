import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestClickhouse, type TestClickhouse } from "../testing.ts";
import {
  agentHealthSeries,
  agentHealthStepS,
  recordAgentHealth,
  type TAgentHealthSample,
} from "./agent-health.ts";

let ch: TestClickhouse;
beforeAll(async () => {
  ch = await createTestClickhouse("agent_health");
});
afterAll(async () => {
  await ch?.drop();
});

const ORG_A = randomUUID();
const ORG_B = randomUUID();
const AGENT = randomUUID();
const T0 = Date.UTC(2026, 10, 26, 12, 0, 0);

function sample(orgId: string, offsetS: number, over: Partial<TAgentHealthSample> = {}): TAgentHealthSample {
  return {
    orgId,
    agentId: AGENT,
    time: new Date(T0 + offsetS * 1000),
    state: "online",
    protective: false,
    cpuPct: 10,
    memBytes: 100_000_000,
    packetsPerS: 1000,
    bytesPerS: 500_000,
    drops: 0,
    flows: 20,
    spoolBytes: 0,
    version: "0.1.0",
    ...over,
  };
}

describe("agent health history", () => {
  it("steps at least one heartbeat, at most AGENT_HEALTH_MAX_POINTS steps", () => {
    expect(agentHealthStepS(0, 3_600_000_000)).toBe(10);
    expect(agentHealthStepS(0, 86_400_000_000)).toBe(240);
  });

  it("reads one org's heartbeats per step; the same heartbeat written twice counts once", async () => {
    await recordAgentHealth(ch.client, [
      sample(ORG_A, 0, { cpuPct: 10 }),
      sample(ORG_A, 10, { cpuPct: 30, memBytes: 300_000_000 }),
      sample(ORG_A, 20, { state: "degraded", protective: true, drops: 7 }),
      // Same agent id under another org (ids are per org): must never show in org A's history.
      sample(ORG_B, 10, { cpuPct: 99 }),
    ]);
    // The job samples a silent agent's last heartbeat again on its next tick.
    await recordAgentHealth(ch.client, [
      sample(ORG_A, 20, { state: "offline", protective: false, drops: 7 }),
    ]);
    const from = (T0 - 60_000) * 1000;
    const to = (T0 + 60_000) * 1000;
    const a = await agentHealthSeries(ch.client, { orgId: ORG_A, agentId: AGENT, from, to });
    expect(a.stepS).toBe(10);
    expect(a.points.map((p) => [p.time / 1000 - T0, p.samples, p.cpu_pct, p.state])).toEqual([
      [0, 1, 10, "online"],
      [10_000, 1, 30, "online"],
      [20_000, 1, 10, "offline"],
    ]);
    expect(a.points[1]?.mem_bytes).toBe(300_000_000);
    const b = await agentHealthSeries(ch.client, { orgId: ORG_B, agentId: AGENT, from, to });
    expect(b.points.map((p) => p.cpu_pct)).toEqual([99]);
  });
});
