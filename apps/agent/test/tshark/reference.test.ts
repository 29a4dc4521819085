import { join } from "node:path";
import { sharedPcapsDir } from "@flowplane/core/shared-dir";
import { describe, expect, it } from "vitest";
import { byKey, flowKey, innermostLayers, tsharkAvailable, tsharkFlows } from "./reference.ts";

const pcaps = sharedPcapsDir();

describe("tshark reference harness", () => {
  it("finds tshark (fails loudly when missing)", () => {
    expect(tsharkAvailable()).toMatch(/TShark/);
  });

  it("keys flows direction-agnostically", () => {
    expect(flowKey(6, "10.0.0.2", 80, "10.0.0.1", 5000)).toBe(flowKey(6, "10.0.0.1", 5000, "10.0.0.2", 80));
    expect(flowKey(17, "2001:0db8:0000::1", 53, "::1", 9)).toBe("17|[2001:db8::1]:53|[::1]:9");
  });

  it("walks the layer stack to the innermost IP layer", () => {
    expect(innermostLayers("eth:ethertype:ip:udp:vxlan:eth:ethertype:ip:tcp:http")).toMatchObject({
      ipFamily: "ip",
      ipIndex: 1,
      transport: "tcp",
      transportIndex: 0,
    });
    expect(innermostLayers("eth:ethertype:ipv6:udp:vxlan:eth:ethertype:ip:udp:dns")).toMatchObject({
      ipFamily: "ip",
      ipIndex: 0,
      transport: "udp",
      transportIndex: 1,
    });
    // ICMP error quoting an IP/UDP header belongs to the ICMP flow.
    expect(innermostLayers("eth:ethertype:ip:icmp:ip:udp")).toMatchObject({ ipIndex: 0, transport: "icmp" });
    expect(innermostLayers("eth:ethertype:ip:udp:vxlan:eth:ethertype:arp")).toBeUndefined();
    expect(innermostLayers("eth:ethertype:arp")).toBeUndefined();
  });

  it("sums a plain HTTP capture per packet", async () => {
    const r = await tsharkFlows(join(pcaps, "http1-get.pcap"), { noCache: true });
    expect(r.frames).toBe(14);
    expect(r.flows).toHaveLength(1);
    const f = r.flows[0];
    expect(f?.packets).toBe(14);
    expect(f?.bytes).toBe(6087); // bytes_wire in reference.json
    expect((f?.packetsAtoB ?? 0) + (f?.packetsBtoA ?? 0)).toBe(14);
    expect(f?.protocol).toBe(6);
  });

  it("keys VXLAN traffic on the inner headers, never the outer UDP", async () => {
    const r = await tsharkFlows(join(pcaps, "vxlan-http.pcap"));
    expect(r.flows.length).toBeGreaterThan(0);
    expect(r.flows.some((f) => f.a.port === 4789 || f.b.port === 4789)).toBe(false);
    expect(r.flows.some((f) => f.protocol === 6 && (f.a.port === 80 || f.b.port === 80))).toBe(true);
  });

  it("counts retransmissions like tcp.analysis.retransmission", async () => {
    const r = await tsharkFlows(join(pcaps, "vlan-http-retransmissions.pcap"));
    const total = r.flows.reduce((s, f) => s + f.retransmissions, 0);
    expect(total).toBeGreaterThan(0);
    for (const f of r.flows) expect(f.retransAtoB + f.retransBtoA).toBe(f.retransmissions);
    // second call comes from the cache and agrees
    const again = await tsharkFlows(join(pcaps, "vlan-http-retransmissions.pcap"));
    expect(byKey(again.flows)).toEqual(byKey(r.flows));
  });
});
