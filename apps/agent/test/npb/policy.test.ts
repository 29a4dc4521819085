import { describe, expect, it } from "vitest";
import { compilePolicies, type Policy, parsePolicies } from "../../src/npb/policy.ts";
import { decoded, F, policy, tcpFrame } from "./fixtures.ts";

function compile(list: unknown[], o = {}) {
  const r = parsePolicies(list);
  if (!r.ok) throw new Error(r.errors.join("\n"));
  return compilePolicies(r.policies as Policy[], o);
}
const out = new Int32Array(16);
function matchIds(c: ReturnType<typeof compile>, frame: Uint8Array, ifIndex = 0, l7 = 0): string[] {
  const n = c.match(decoded(frame), ifIndex, l7, out);
  return Array.from(out.subarray(0, n), (i) => c.policies[i]!.policy.id);
}

describe("policy validation", () => {
  it("refuses invalid policies with messages naming the field", () => {
    const r = parsePolicies([
      policy({ id: "a", match: { clientCidrs: ["10.0.0.0/8", "10.1.2.3/16"], serverPorts: ["90-80"] } }),
      policy({
        id: "a",
        action: { destinations: [], encap: { type: "erspan2", sessionId: 5000 } },
      }),
      policy({ id: "c", match: { protocols: ["icmp"], clientPorts: [80] } }),
      policy({
        id: "d",
        action: { destinations: [{ address: "2001:db8::1" }], encap: { type: "gre" }, mark: {} },
      }),
      policy({
        id: "e",
        action: { destinations: [{ address: "1.2.3.4" }], encap: { type: "vxlan", vni: 1 << 24 } },
      }),
    ]);
    expect(r.ok).toBe(false);
    const errors = r.ok ? [] : r.errors;
    const find = (prefix: string) => errors.find((e) => e.startsWith(prefix));
    expect(find("policies[0].match.clientCidrs[1]:")).toMatch(/host bits set; did you mean 10\.1\.0\.0\/16/);
    expect(find("policies[0].match.serverPorts[0]:")).toMatch(/low <= high/);
    expect(find("policies[1].action.destinations:")).toMatch(/at least one destination/);
    expect(find("policies[1].action.encap.sessionId:")).toBeDefined();
    expect(find("policies[1].id:")).toMatch(/duplicate of policies\[0\]\.id/);
    expect(find("policies[2].match.clientPorts:")).toMatch(/tcp or udp/);
    expect(find("policies[3].action.destinations[0].address:")).toMatch(/IPv6 destinations/);
    expect(find("policies[3].action.mark:")).toMatch(/vlan or dscp/);
    expect(find("policies[4].action.encap.vni:")).toBeDefined();
  });

  it("refuses unknown fields and bad CIDRs", () => {
    const r = parsePolicies([policy({ match: { clientCidrs: ["10.0.0.0/33", "nope"] }, extra: 1 } as never)]);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(
      r.errors.some((e) => e.startsWith("policies[0].match.clientCidrs[0]:") && /prefix length/.test(e)),
    ).toBe(true);
    expect(r.errors.some((e) => e.startsWith("policies[0].match.clientCidrs[1]:"))).toBe(true);
    expect(r.errors.some((e) => e.startsWith("policies[0]:") && /extra/.test(e))).toBe(true);
  });

  it("accepts a full policy and fills defaults", () => {
    const r = parsePolicies([
      policy({
        agentGroups: ["edge"],
        match: {
          clientCidrs: ["10.0.0.0/8", "2001:db8::/32"],
          serverPorts: [443, "8000-8099"],
          protocols: ["tcp", 17],
          vlans: [10],
          tunnelTypes: ["vxlan"],
          tunnelIds: [100],
          interfaces: ["eth0"],
          direction: "client-to-server",
          l7Protocols: ["http"],
        },
        action: {
          destinations: [{ address: "192.0.2.10" }, { address: "192.0.2.11", port: 14789 }],
          encap: { type: "erspan3", sessionId: 7 },
          stripTunnel: true,
          truncatePayload: 128,
          bandwidthCap: { mbps: 100 },
          mark: { dscp: 46 },
        },
      }),
    ]);
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.policies[0]!.enabled).toBe(true);
      expect(r.policies[0]!.action.encap).toMatchObject({ type: "erspan3", sessionId: 7, vlan: 0, cos: 0 });
    }
  });
});

describe("matcher", () => {
  it("matches IPv4 and IPv6 CIDRs in either orientation (both directions of a flow)", () => {
    const c = compile([
      policy({ id: "v4", match: { clientCidrs: ["10.1.0.0/16"], serverCidrs: ["192.168.0.0/24"] } }),
      policy({ id: "v6", match: { serverCidrs: ["2001:db8:1::/48"] } }),
    ]);
    expect(matchIds(c, tcpFrame("10.1.2.3", "192.168.0.9", 40000, 80))).toEqual(["v4"]);
    expect(matchIds(c, tcpFrame("192.168.0.9", "10.1.2.3", 80, 40000))).toEqual(["v4"]);
    expect(matchIds(c, tcpFrame("10.2.2.3", "192.168.0.9", 40000, 80))).toEqual([]);
    expect(matchIds(c, tcpFrame("10.1.2.3", "192.168.1.9", 40000, 80))).toEqual([]);
    expect(matchIds(c, tcpFrame("2001:db8:2::5", "2001:db8:1:ffff::1", 40000, 443))).toEqual(["v6"]);
    expect(matchIds(c, tcpFrame("2001:db8:1::1", "2001:db8:2::5", 443, 40000))).toEqual(["v6"]);
    expect(matchIds(c, tcpFrame("2001:db8:2::5", "2001:db8:2::1", 40000, 443))).toEqual([]);
    // high addresses (sign bit set in the decoder's int32 words)
    const hi = compile([policy({ id: "hi", match: { serverCidrs: ["200.0.0.0/8", "ff00::/8"] } })]);
    expect(matchIds(hi, tcpFrame("10.0.0.1", "200.1.1.1", 1, 2))).toEqual(["hi"]);
    expect(matchIds(hi, tcpFrame("10.0.0.1", "199.255.255.255", 1, 2))).toEqual([]);
    expect(matchIds(hi, tcpFrame("2001:db8::1", "ff02::1", 1, 2))).toEqual(["hi"]);
  });

  it("matches ports and ranges on the server side only, protocols, VLANs", () => {
    const c = compile([
      policy({ id: "web", match: { serverPorts: [80, "8000-8099"], protocols: ["tcp"] } }),
      policy({ id: "vlan", match: { vlans: [30] }, priority: 200 }),
    ]);
    expect(matchIds(c, tcpFrame("10.0.0.1", "10.0.0.2", 40000, 8050))).toEqual(["web"]);
    expect(matchIds(c, tcpFrame("10.0.0.2", "10.0.0.1", 8099, 40000))).toEqual(["web"]);
    expect(matchIds(c, tcpFrame("10.0.0.1", "10.0.0.2", 40000, 8100))).toEqual([]);
    expect(matchIds(c, tcpFrame("10.0.0.1", "10.0.0.2", 40000, 8100, [], { vlan: 30 }))).toEqual(["vlan"]);
    const udp = F.eth(0x0800, F.ipv4(17, "10.0.0.1", "10.0.0.2", F.udp(40000, 80, [1])));
    expect(matchIds(c, udp)).toEqual([]);
  });

  it("direction: client-to-server only picks one half; SYN and port order decide when both sides fit", () => {
    const c = compile([
      policy({ id: "c2s", match: { clientCidrs: ["10.0.0.1/32"], direction: "client-to-server" } }),
    ]);
    expect(matchIds(c, tcpFrame("10.0.0.1", "10.0.0.2", 40000, 80))).toEqual(["c2s"]);
    expect(matchIds(c, tcpFrame("10.0.0.2", "10.0.0.1", 80, 40000))).toEqual([]);
    const any = compile([policy({ id: "s2c", match: { direction: "server-to-client" } })]);
    expect(matchIds(any, tcpFrame("10.0.0.2", "10.0.0.1", 80, 40000))).toEqual(["s2c"]);
    expect(matchIds(any, tcpFrame("10.0.0.1", "10.0.0.2", 40000, 80))).toEqual([]);
    // SYN-ACK from a high port is still the server's
    expect(matchIds(any, tcpFrame("10.0.0.2", "10.0.0.1", 50000, 40000, [], { flags: 0x12 }))).toEqual([
      "s2c",
    ]);
  });

  it("priority order, first match wins unless `continue`", () => {
    const c = compile([
      policy({ id: "low", priority: 50 }),
      policy({ id: "high", priority: 10 }),
      policy({ id: "mid", priority: 20, continue: true, match: { serverPorts: [443], protocols: ["tcp"] } }),
    ]);
    expect(matchIds(c, tcpFrame("10.0.0.1", "10.0.0.2", 40000, 80))).toEqual(["high"]);
    const c2 = compile([
      policy({ id: "low", priority: 50 }),
      policy({ id: "tap", priority: 10, continue: true }),
      policy({ id: "disabled", priority: 1, enabled: false }),
    ]);
    expect(matchIds(c2, tcpFrame("10.0.0.1", "10.0.0.2", 40000, 80))).toEqual(["tap", "low"]);
  });

  it("agent groups, interfaces, tunnels and L7 protocols", () => {
    const c = compile(
      [
        policy({ id: "other-group", priority: 1, agentGroups: ["dc2"] }),
        policy({ id: "eth1", priority: 2, match: { interfaces: ["eth1"] } }),
        policy({ id: "vni", priority: 3, match: { tunnelTypes: ["vxlan"], tunnelIds: [4242] } }),
        policy({ id: "http", priority: 4, match: { l7Protocols: ["http"] } }),
      ],
      { agentGroups: ["dc1"], interfaces: ["eth0", "eth1"] },
    );
    expect(c.policies.map((p) => p.policy.id)).toEqual(["eth1", "vni", "http"]);
    const plain = tcpFrame("10.0.0.1", "10.0.0.2", 40000, 80);
    expect(matchIds(c, plain, 1)).toEqual(["eth1"]);
    expect(matchIds(c, plain, 0)).toEqual([]);
    expect(matchIds(c, plain, 0, c.l7Ids.get("http"))).toEqual(["http"]);
    const inVxlan = F.eth(
      0x0800,
      F.ipv4(17, "172.16.0.1", "172.16.0.2", F.udp(5555, 4789, F.vxlan(4242, plain))),
    );
    expect(matchIds(c, inVxlan)).toEqual(["vni"]);
    const otherVni = F.eth(
      0x0800,
      F.ipv4(17, "172.16.0.1", "172.16.0.2", F.udp(5555, 4789, F.vxlan(1, plain))),
    );
    expect(matchIds(c, otherVni)).toEqual([]);
  });
});
