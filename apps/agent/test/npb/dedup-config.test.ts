/**
 * Deduplication switched per agent group: `npb.dedup` in the group configuration reaches the
 * NPB runtime through applyAgentConfig and rebuilds the broker with both rules on or off.
 */
import { ZAgentConfig } from "@flowplane/protocol";
import { describe, expect, it } from "vitest";
import { NpbRuntime } from "../../src/npb/runtime.ts";
import type { PacketSender } from "../../src/npb/sender.ts";
import { applyAgentConfig } from "../../src/run/controller-session.ts";
import { decoded, policy, tcpFrame } from "./fixtures.ts";

function runtime(dedup: boolean) {
  let sent = 0;
  const logs: string[] = [];
  const sender = { send: () => sent++, stats: () => null, close: async () => {} } as unknown as PacketSender;
  const npb = new NpbRuntime({
    agentId: () => "A",
    interfaces: ["eth0"],
    dedup,
    log: (l) => logs.push(l),
    sender: () => sender,
  });
  // 10.0.0.1 → 10.0.0.2: designated to B (holds the source), so A leaves it to B under rule 1.
  const designatedMap = {
    version: 1,
    agents: [
      { agentId: "A", addresses: ["10.0.0.2"] },
      { agentId: "B", addresses: ["10.0.0.1"] },
    ],
  };
  const p = policy({ id: "all" });
  npb.apply({ revision: "r1", policies: [p], designatedMap });
  const toB = tcpFrame("10.0.0.1", "10.0.0.2", 40000, 80);
  const fromA = tcpFrame("10.0.0.2", "10.0.0.1", 80, 40000);
  /** Each frame twice at the same time (two interfaces); returns copies sent. */
  const replay = (t: number) => {
    const before = sent;
    for (const f of [toB, toB, fromA, fromA]) npb.onPacket(decoded(f), 1, f, 0, f.length, t);
    return sent - before;
  };
  return { npb, replay, logs };
}

describe("npb.dedup in the group configuration", () => {
  it("defaults on; strict", () => {
    expect(ZAgentConfig.parse({}).npb).toEqual({ dedup: true });
    expect(ZAgentConfig.parse({ npb: { dedup: false } }).npb.dedup).toBe(false);
    expect(ZAgentConfig.safeParse({ npb: { dedupe: false } }).success).toBe(false);
  });

  it("applyAgentConfig switches both rules of the running broker; counters carry over", () => {
    const { npb, replay, logs } = runtime(true);
    let dedup: boolean | undefined;
    const target = {
      setTimeouts: () => {},
      setNpbDedup: (on: boolean) => {
        dedup = on;
        npb.setDedup(on);
      },
    };

    // On: A forwards only its own packet (rule 1), once although seen twice (rule 2).
    expect(replay(1_000_000)).toBe(1);
    applyAgentConfig(ZAgentConfig.parse({ npb: { dedup: false } }), target);
    expect(dedup).toBe(false);
    expect(logs.at(-1)).toBe("packet broker: deduplication off (group configuration)");
    expect(replay(2_000_000)).toBe(4);
    applyAgentConfig(ZAgentConfig.parse({}), target);
    expect(replay(3_000_000)).toBe(1);

    const [c] = npb.stats().policies;
    expect(c).toMatchObject({ policyId: "all", matched: 12, sent: 6, notDesignated: 4, deduplicated: 2 });
  });

  it("the same value again does not rebuild (no log line)", () => {
    const { npb, logs } = runtime(true);
    const n = logs.length;
    npb.setDedup(true);
    expect(logs.length).toBe(n);
  });

  it("rebuilding for the same revision (dedup switch, new link type) reuses the indexed map; a new revision rebuilds it", () => {
    const { npb, replay } = runtime(true);
    const points = () => (npb as unknown as { points: { points: object } | null }).points?.points;
    const first = points();
    expect(first).toBeDefined();
    npb.setDedup(false);
    npb.setDedup(true);
    const f = tcpFrame("10.0.0.2", "10.0.0.1", 80, 40000);
    npb.onPacket(decoded(f), 1, f, 0, f.length, 1); // link type unchanged
    expect(points()).toBe(first);
    expect(replay(5_000_000)).toBe(1); // and it still designates as before
    npb.apply({
      revision: "r2",
      policies: [policy({ id: "all" })],
      designatedMap: { version: 2, agents: [{ agentId: "A", addresses: ["10.0.0.1", "10.0.0.2"] }] },
    });
    expect(points()).not.toBe(first);
    expect(replay(6_000_000)).toBe(2); // A now holds both hosts: both directions, once each
  });
});
