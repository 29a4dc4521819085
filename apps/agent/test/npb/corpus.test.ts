/**
 * Every shared capture through the broker, tunnels kept and stripped: each copy, decoded again
 * by the agent's own decoder, holds the same innermost packet as the original frame.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { sharedPcapsDir } from "@flowplane/core/shared-dir";
import { describe, expect, it } from "vitest";
import { readCaptureFile } from "../../src/capture/capture-file.ts";
import { decodeFrame } from "../../src/decode/packet.ts";
import { PacketMeta } from "../../src/decode/packet-meta.ts";
import { createPacketBroker } from "../../src/npb/broker.ts";
import { Encapsulator } from "../../src/npb/encap.ts";
import { policy } from "./fixtures.ts";

const dir = sharedPcapsDir();
const files = readdirSync(dir).filter((f) => /\.pcap(ng)?$/.test(f));

const key = (m: PacketMeta) =>
  [
    m.ipVersion,
    m.src0,
    m.src1,
    m.src2,
    m.src3,
    m.dst0,
    m.dst1,
    m.dst2,
    m.dst3,
    m.proto,
    m.srcPort,
    m.dstPort,
    m.payloadLen,
    m.vlan,
  ].join(",");

describe.each([false, true])("shared captures, stripTunnel=%s", (stripTunnel) => {
  it.each(files)("%s", (file) => {
    const orig = new PacketMeta();
    const again = new PacketMeta();
    let checked = 0;
    let expected = "";
    let tunnelled = 0;
    const headerLen = Encapsulator.headerLen({ kind: 1 } as never);
    const make = (linkType: number) =>
      createPacketBroker({
        linkType,
        policies: [
          policy({
            action: {
              destinations: [{ address: "127.0.0.1" }],
              encap: { type: "vxlan", vni: 1 },
              stripTunnel,
            },
          }),
        ],
        agentId: "a",
        dedup: false,
        send: (_d, p, len) => {
          const r = decodeFrame(again, 1, p, headerLen, len - headerLen);
          expect(r).toBe(0);
          const got = key(again);
          // A stripped copy has lost the outer VLAN; the decoder's vlan is the innermost tag seen.
          if (stripTunnel && tunnelled)
            expect(got.split(",").slice(0, -1)).toEqual(expected.split(",").slice(0, -1));
          else expect(got).toBe(expected);
          expect(again.tunnelType !== 0).toBe(!stripTunnel && tunnelled === 1);
          checked++;
        },
      });
    let broker: ReturnType<typeof make> | undefined;
    let linkType = -1;
    readCaptureFile(
      join(dir, file),
      (lt, buf, off, capLen, _w, ts) => {
        if (broker === undefined || lt !== linkType) broker = make(lt);
        linkType = lt;
        if (decodeFrame(orig, lt, buf, off, capLen) !== 0) return;
        expected = key(orig);
        tunnelled = orig.tunnelType !== 0 ? 1 : 0;
        broker.onPacket(orig, buf, off, capLen, ts);
      },
      () => {},
    );
    expect(linkType).toBeGreaterThanOrEqual(0);
    expect(checked).toBeGreaterThan(0);
  });
});
