import { describe, expect, it } from "vitest";
import { DedupWindow, DesignatedMapSchema, DesignatedPoints, Designation } from "../../src/npb/dedup.ts";
import { decoded, F, tcpFrame } from "./fixtures.ts";

const map = DesignatedMapSchema.parse({
  version: 3,
  agents: [
    { agentId: "agent-a", addresses: ["10.0.0.1", "2001:db8::a"] },
    { agentId: "agent-b", addresses: ["10.0.0.2", "10.9.0.0/16"] },
  ],
});

describe("designated capture points (across agents)", () => {
  const a = new DesignatedPoints(map, "agent-a");
  const b = new DesignatedPoints(map, "agent-b");
  it("the sender's agent forwards, the receiver's does not", () => {
    const ab = decoded(tcpFrame("10.0.0.1", "10.0.0.2", 40000, 80));
    const ba = decoded(tcpFrame("10.0.0.2", "10.0.0.1", 80, 40000));
    expect([a.designate(ab), b.designate(ab)]).toEqual([Designation.self, Designation.other]);
    expect([a.designate(ba), b.designate(ba)]).toEqual([Designation.other, Designation.self]);
  });
  it("an unmonitored sender leaves it to the receiver's agent; nobody known → everyone forwards", () => {
    const fromOutside = decoded(tcpFrame("192.0.2.1", "10.9.1.1", 40000, 80));
    expect([a.designate(fromOutside), b.designate(fromOutside)]).toEqual([
      Designation.other,
      Designation.self,
    ]);
    const unknown = decoded(tcpFrame("192.0.2.1", "192.0.2.2", 40000, 80));
    expect([a.designate(unknown), b.designate(unknown)]).toEqual([Designation.nobody, Designation.nobody]);
    const v6 = decoded(tcpFrame("2001:db8::a", "2001:db8::b", 40000, 80));
    expect([a.designate(v6), b.designate(v6)]).toEqual([Designation.self, Designation.other]);
  });
  it("refuses a bad map with the field path", () => {
    const r = DesignatedMapSchema.safeParse({ agents: [{ agentId: "x", addresses: ["10.0.0.1/8"] }] });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(["agents", 0, "addresses", 0]);
  });
});

describe("local dedup window (across interfaces)", () => {
  const base = tcpFrame("10.0.0.1", "10.0.0.2", 40000, 80, [9, 8, 7, 6, 5], { id: 99 });
  const seen = (w: DedupWindow, f: Uint8Array, ts: number) => w.seen(decoded(f), f, f.length, ts);

  it("drops the same packet seen again with another VLAN tag, TTL, checksum or outer tunnel", () => {
    const w = new DedupWindow(2000);
    expect(seen(w, base, 1_000_000)).toBe(false);
    const tagged = tcpFrame("10.0.0.1", "10.0.0.2", 40000, 80, [9, 8, 7, 6, 5], { id: 99, vlan: 20 });
    tagged[18 + 8] = 63; // TTL one hop later
    tagged[18 + 10] = 0xab; // checksum differs
    expect(seen(w, tagged, 1_000_100)).toBe(true);
    const inVxlan = F.eth(
      0x0800,
      F.ipv4(17, "172.16.0.1", "172.16.0.2", F.udp(5555, 4789, F.vxlan(7, base))),
    );
    expect(seen(w, inVxlan, 1_000_200)).toBe(true);
    expect(w.hits).toBe(2);
  });

  it("keeps packets that differ in an invariant field, and repeats after the window", () => {
    const w = new DedupWindow(2000);
    expect(seen(w, base, 0)).toBe(false);
    expect(seen(w, tcpFrame("10.0.0.1", "10.0.0.2", 40000, 80, [9, 8, 7, 6, 5], { id: 100 }), 10)).toBe(
      false,
    );
    expect(seen(w, tcpFrame("10.0.0.1", "10.0.0.2", 40000, 80, [9, 8, 7, 6, 4], { id: 99 }), 20)).toBe(false);
    expect(
      seen(w, tcpFrame("10.0.0.1", "10.0.0.2", 40000, 80, [9, 8, 7, 6, 5], { id: 99, seq: 1001 }), 30),
    ).toBe(false);
    expect(seen(w, base, 2500)).toBe(false); // window over: a genuine repeat is forwarded
    expect(seen(w, base, 2600)).toBe(true);
  });

  it("a full table replaces the oldest entry instead of growing", () => {
    const w = new DedupWindow(1_000_000, 4); // 16 slots
    for (let i = 0; i < 1000; i++) w.seenHashes(i * 7919, i, i);
    expect(w.evictions).toBeGreaterThan(900);
    expect(w.seenHashes(999 * 7919, 999, 1000)).toBe(true);
  });
});
