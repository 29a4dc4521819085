import { describe, expect, it } from "vitest";
import { parsePolicies, ZDesignatedMap, ZSyncRequest, ZSyncResponse } from "./index.ts";

const stats = {
  cpuPct: 1,
  memBytes: 1,
  packetsPerS: 0,
  bytesPerS: 0,
  drops: 0,
  flows: 0,
  spoolBytes: 0,
  version: "0.1.0",
};

describe("packet-broker wire shapes", () => {
  it("an agent without the NPB fields still validates, and so does an answer without them", () => {
    const req = ZSyncRequest.parse({
      protocolVersion: 1,
      agentId: "00000000-0000-4000-8000-000000000001",
      state: "running",
      appliedRevision: 1,
      stats,
    });
    expect(req.npbRevision).toBeUndefined();
    const res = ZSyncResponse.parse({ protocolVersion: 1, revision: 1, syncIntervalS: 10 });
    expect(res.npb).toBeUndefined();
  });

  it("an old agent reading a new answer drops the NPB fields it does not know", () => {
    // What an older agent's schema does with extra keys: z.object strips them.
    const res = ZSyncResponse.pick({ protocolVersion: true, revision: true, syncIntervalS: true }).parse({
      protocolVersion: 1,
      revision: 1,
      syncIntervalS: 10,
      npb: { revision: "x", policies: [] },
    });
    expect(res).toEqual({ protocolVersion: 1, revision: 1, syncIntervalS: 10 });
  });

  it("refuses a policy with a message naming the field", () => {
    const r = parsePolicies([
      {
        id: "p",
        orgId: "o",
        name: "n",
        priority: 1,
        match: { clientCidrs: ["10.1.2.0/16"] },
        action: { destinations: [{ address: "2001:db8::1" }], encap: { type: "vxlan", vni: 1 } },
      },
    ]);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors).toContain("policies[0].match.clientCidrs[0]: host bits set; did you mean 10.1.0.0/16?");
    expect(r.errors.some((e) => e.startsWith("policies[0].action.destinations[0].address: IPv6"))).toBe(true);
  });

  it("validates designated map addresses as CIDRs", () => {
    expect(
      ZDesignatedMap.safeParse({ agents: [{ agentId: "a", addresses: ["10.0.0.1", "fd00::/8"] }] }).success,
    ).toBe(true);
    expect(ZDesignatedMap.safeParse({ agents: [{ agentId: "a", addresses: ["nope"] }] }).success).toBe(false);
  });
});
