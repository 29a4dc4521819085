/** Shared helpers for the packet-broker tests: policies with defaults, decoded frames. */
import { decodeFrame } from "../../src/decode/packet.ts";
import { PacketMeta } from "../../src/decode/packet-meta.ts";
import type { PolicyInput } from "../../src/npb/policy.ts";
import * as F from "../helpers/frames.ts";

export { F };

let n = 0;
export function policy(o: Partial<PolicyInput> & { match?: PolicyInput["match"] } = {}): PolicyInput {
  n++;
  return {
    id: `p${n}`,
    orgId: "org-1",
    name: `policy ${n}`,
    priority: 100,
    action: { destinations: [{ address: "127.0.0.1" }], encap: { type: "vxlan", vni: 42 } },
    ...o,
  };
}

export function tcpFrame(
  src: string,
  dst: string,
  sport: number,
  dport: number,
  payload: number[] = [1, 2, 3, 4],
  o: { flags?: number; vlan?: number; id?: number; seq?: number } = {},
): Uint8Array {
  const ip = src.includes(":")
    ? F.ipv6(6, src, dst, F.tcp(sport, dport, payload, { flags: o.flags ?? 0x18, seq: o.seq ?? 1000 }))
    : F.ipv4(6, src, dst, F.tcp(sport, dport, payload, { flags: o.flags ?? 0x18, seq: o.seq ?? 1000 }), {
        id: o.id ?? 7,
      });
  return F.eth(src.includes(":") ? 0x86dd : 0x0800, ip, o.vlan ? [{ tpid: 0x8100, id: o.vlan }] : []);
}

/** Decodes an Ethernet frame into a fresh PacketMeta. */
export function decoded(frame: Uint8Array, linkType = 1): PacketMeta {
  const m = new PacketMeta();
  decodeFrame(m, linkType, frame, 0, frame.length);
  return m;
}
