import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestClickhouse, type TestClickhouse } from "../testing.ts";
import { npbCounters, recordNpbCounters } from "./npb-counters.ts";

let ch: TestClickhouse;
beforeAll(async () => {
  ch = await createTestClickhouse("npb_counters");
});
afterAll(async () => {
  await ch?.drop();
});

const ORG_A = randomUUID();
const ORG_B = randomUUID();
const AGENT_1 = randomUUID();
const AGENT_2 = randomUUID();
const POLICY = randomUUID();
const T0 = Date.UTC(2026, 10, 26, 12, 0, 0);
const zero = { truncated: 0, deduplicated: 0, notDesignated: 0, droppedByCap: 0, encapErrors: 0 };

describe("npb policy counters", () => {
  it("sums reports per policy, per agent and per minute, one org at a time", async () => {
    const c = { policyId: POLICY, matched: 10, sent: 8, bytes: 800, ...zero, deduplicated: 2 };
    await recordNpbCounters(ch.client, ORG_A, AGENT_1, new Date(T0 + 5_000), [c]);
    await recordNpbCounters(ch.client, ORG_A, AGENT_1, new Date(T0 + 15_000), [c]);
    await recordNpbCounters(ch.client, ORG_A, AGENT_2, new Date(T0 + 65_000), [c]);
    await recordNpbCounters(ch.client, ORG_B, AGENT_1, new Date(T0 + 5_000), [{ ...c, matched: 1000 }]);
    const range = { from: T0 * 1000, to: (T0 + 3_600_000) * 1000 };

    const total = await npbCounters(ch.client, { orgId: ORG_A, ...range });
    expect(total).toEqual([
      expect.objectContaining({
        policy_id: POLICY,
        agent_id: "",
        matched: 30,
        sent: 24,
        bytes: 2400,
        deduplicated: 6,
      }),
    ]);
    const perAgent = await npbCounters(ch.client, { orgId: ORG_A, ...range, byAgent: true });
    expect(perAgent.map((r) => [r.agent_id, r.matched]).sort()).toEqual(
      [
        [AGENT_1, 20],
        [AGENT_2, 10],
      ].sort(),
    );
    const perMinute = await npbCounters(ch.client, { orgId: ORG_A, ...range, stepS: 60 });
    expect(perMinute.map((r) => [r.time, r.matched])).toEqual([
      [T0 * 1000, 20],
      [(T0 + 60_000) * 1000, 10],
    ]);
    const other = await npbCounters(ch.client, { orgId: ORG_B, ...range });
    expect(other.map((r) => r.matched)).toEqual([1000]);
  });
});
