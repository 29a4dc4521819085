/**
 * End to end on loopback only: a shared capture is decoded and brokered, the sender delivers
 * the copies to UDP sockets (and a raw GRE socket when running as root with raw-socket) on
 * 127.0.0.1, and the received inner frames are compared byte for byte with the originals.
 */
import { createSocket, type Socket } from "node:dgram";
import { rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sharedPcapsDir } from "@flowplane/core/shared-dir";
import { afterEach, describe, expect, it } from "vitest";
import { readCaptureFile } from "../../src/capture/capture-file.ts";
import { decodeFrame } from "../../src/decode/packet.ts";
import { PacketMeta } from "../../src/decode/packet-meta.ts";
import { createPacketBroker } from "../../src/npb/broker.ts";
import { ipChecksum } from "../../src/npb/encap.ts";
import { createSender, openRawGreSocket, type PacketSender } from "../../src/npb/sender.ts";
import { policy } from "./fixtures.ts";
import { tsharkFields, writeRawPcap } from "./pcap-out.ts";

/** Re-wraps received UDP payloads in IPv4/UDP (dst port) so tshark can read the delivered stream. */
function asIpUdp(payloads: Buffer[], dport: number): Uint8Array[] {
  return payloads.map((p) => {
    const b = Buffer.alloc(28 + p.length);
    b.writeUInt16BE(0x4500, 0);
    b.writeUInt16BE(b.length, 2);
    b[8] = 64;
    b[9] = 17;
    b.set([127, 0, 0, 1, 127, 0, 0, 1], 12);
    b.writeUInt16BE(ipChecksum(b, 0, 20), 10);
    b.writeUInt16BE(40000, 20);
    b.writeUInt16BE(dport, 22);
    b.writeUInt16BE(8 + p.length, 24);
    p.copy(b, 28);
    return b;
  });
}

interface Captured {
  linkType: number;
  data: Uint8Array;
  ts: number;
}
function loadPcap(name: string): Captured[] {
  const out: Captured[] = [];
  readCaptureFile(
    join(sharedPcapsDir(), name),
    (linkType, buf, off, capLen, _w, ts) => out.push({ linkType, data: buf.slice(off, off + capLen), ts }),
    () => {},
  );
  return out;
}

const open: { close(): void }[] = [];
let sender: PacketSender | undefined;
afterEach(async () => {
  await sender?.close();
  sender = undefined;
  for (const s of open.splice(0)) s.close();
});

async function receiver(): Promise<{
  sock: Socket;
  port: number;
  msgs: Buffer[];
  waitFor(n: number): Promise<void>;
}> {
  const sock = createSocket("udp4");
  const msgs: Buffer[] = [];
  let want = Number.POSITIVE_INFINITY;
  let wake = () => {};
  sock.on("message", (m) => {
    msgs.push(m);
    if (msgs.length >= want) wake();
  });
  await new Promise<void>((r) => sock.bind(0, "127.0.0.1", r));
  open.push(sock);
  return {
    sock,
    port: sock.address().port,
    msgs,
    waitFor: (n) =>
      new Promise<void>((resolve, reject) => {
        if (msgs.length >= n) return resolve();
        want = n;
        wake = resolve;
        setTimeout(() => reject(new Error(`received ${msgs.length} of ${n} datagrams`)), 5000).unref();
      }),
  };
}

function replay(broker: ReturnType<typeof createPacketBroker>, pkts: Captured[]) {
  const m = new PacketMeta();
  for (const p of pkts) {
    decodeFrame(m, p.linkType, p.data, 0, p.data.length);
    broker.onPacket(m, p.data, 0, p.data.length, p.ts);
  }
}

describe("delivery over loopback", () => {
  it.each(["sendmmsg", "dgram"] as const)(
    "VXLAN (%s): every frame of http1-get.pcap and vlan-http.pcap arrives byte-identical",
    async (syscall) => {
      for (const name of ["http1-get.pcap", "vlan-http.pcap"]) {
        const rx = await receiver();
        sender = createSender({ gre: "udp", syscall });
        const pkts = loadPcap(name);
        const broker = createPacketBroker({
          policies: [
            policy({
              action: {
                destinations: [{ address: "127.0.0.1", port: rx.port }],
                encap: { type: "vxlan", vni: 4242 },
              },
            }),
          ],
          agentId: "a",
          send: sender.send,
        });
        replay(broker, pkts);
        await sender.flush();
        await rx.waitFor(pkts.length);
        expect(rx.msgs).toHaveLength(pkts.length);
        rx.msgs.forEach((msg, i) => {
          expect(msg[0]).toBe(0x08);
          expect(msg.readUIntBE(4, 3)).toBe(4242);
          expect(msg.subarray(8).equals(Buffer.from(pkts[i]!.data))).toBe(true);
        });
        expect(sender.stats()).toMatchObject({ sent: pkts.length, dropped: 0, errors: 0, syscall });
        // tshark reads the delivered stream like the original capture (inner TCP segments).
        const delivered = join(tmpdir(), `npb-delivered-${process.pid}-${name}`);
        writeRawPcap(delivered, asIpUdp(rx.msgs, 4789));
        const fields = ["ip.src", "tcp.srcport", "tcp.dstport", "tcp.seq_raw", "tcp.len"];
        const got = tsharkFields(delivered, ["vxlan.vni", ...fields], ["-d", "udp.port==4789,vxlan"]);
        rmSync(delivered, { force: true });
        const want = tsharkFields(join(sharedPcapsDir(), name), fields);
        expect(got.map((r) => r[0])).toEqual(pkts.map(() => "4242"));
        expect(got.map((r) => [r[1]!.split(",").at(-1), ...r.slice(2)])).toEqual(want);
        await sender.close();
        sender = undefined;
      }
    },
  );

  it("VXLAN with the capture's own VXLAN stripped and payload truncated (vxlan-http.pcap)", async () => {
    const rx = await receiver();
    sender = createSender({ gre: "udp" });
    const pkts = loadPcap("vxlan-http.pcap");
    const broker = createPacketBroker({
      policies: [
        policy({
          action: {
            destinations: [{ address: "127.0.0.1", port: rx.port }],
            encap: { type: "vxlan", vni: 1 },
            stripTunnel: true,
            truncatePayload: 64,
          },
        }),
      ],
      agentId: "a",
      send: sender.send,
    });
    replay(broker, pkts);
    await rx.waitFor(pkts.length);
    const m = new PacketMeta();
    rx.msgs.forEach((msg, i) => {
      const orig = pkts[i]!.data;
      expect(orig[14]).toBe(0x45); // outer IPv4 without options: inner frame at 14+20+8+8
      decodeFrame(m, 1, orig, 0, orig.length);
      const innerEnd = Math.min(orig.length, m.payloadOffset + 64);
      expect(msg.subarray(8).equals(Buffer.from(orig.subarray(50, innerEnd)))).toBe(true);
    });
    expect(broker.stats().policies[0]!.truncated).toBeGreaterThan(0);
  });

  it("ERSPAN II as GRE-in-UDP (port 4754 fallback): GRE + ERSPAN header + original frame", async () => {
    const rx = await receiver();
    sender = createSender({ gre: "udp" });
    const pkts = loadPcap("http1-get.pcap");
    const broker = createPacketBroker({
      policies: [
        policy({
          action: {
            destinations: [{ address: "127.0.0.1", port: rx.port }],
            encap: { type: "erspan2", sessionId: 99 },
          },
        }),
      ],
      agentId: "a",
      send: sender.send,
    });
    replay(broker, pkts);
    await rx.waitFor(pkts.length);
    rx.msgs.forEach((msg, i) => {
      expect(msg.readUInt16BE(0)).toBe(0x1000);
      expect(msg.readUInt16BE(2)).toBe(0x88be);
      expect(msg.readUInt32BE(4)).toBe(i);
      expect(msg.readUInt16BE(10) & 0x3ff).toBe(99);
      expect(msg.subarray(16).equals(Buffer.from(pkts[i]!.data))).toBe(true);
    });
    // tshark decodes UDP 4754 as GRE (RFC 8086) without being told.
    const delivered = join(tmpdir(), `npb-delivered-${process.pid}-gre-udp.pcap`);
    writeRawPcap(delivered, asIpUdp(rx.msgs, 4754));
    const rows = tsharkFields(delivered, ["frame.protocols", "erspan.spanid", "tcp.len"]);
    rmSync(delivered, { force: true });
    expect(rows).toHaveLength(pkts.length);
    for (const r of rows) {
      expect(r[0]).toMatch(/^raw:ip:udp:gre:erspan:eth:ethertype:ip:tcp/);
      expect(r[1]).toBe("99");
    }
  });

  const raw = openRawGreSocket();
  const rawOk = typeof raw !== "string";
  if (rawOk) raw.close();
  it.skipIf(!rawOk)("ERSPAN III over a raw GRE socket (root + raw-socket) to 127.0.0.1", async () => {
    const require = createRequire(import.meta.url);
    const rs = require("raw-socket") as {
      createSocket(o: { protocol: number }): {
        on(ev: "message", f: (b: Buffer, src: string) => void): void;
        close(): void;
      };
    };
    const listener = rs.createSocket({ protocol: 47 });
    open.push(listener);
    const got: Buffer[] = [];
    listener.on("message", (b) => {
      // Raw IPv4 sockets deliver the IP header too; keep only our session's copies.
      const ihl = (b[0]! & 15) * 4;
      if (b.readUInt16BE(ihl + 2) === 0x22eb && (b.readUInt16BE(ihl + 10) & 0x3ff) === 517)
        got.push(Buffer.from(b.subarray(ihl))); // raw-socket reuses its receive buffer
    });
    sender = createSender({ gre: "raw" });
    const pkts = loadPcap("http1-get.pcap");
    const broker = createPacketBroker({
      policies: [
        policy({
          action: { destinations: [{ address: "127.0.0.1" }], encap: { type: "erspan3", sessionId: 517 } },
        }),
      ],
      agentId: "a",
      send: sender.send,
    });
    replay(broker, pkts);
    await sender.flush();
    const deadline = Date.now() + 3000;
    while (got.length < pkts.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(got).toHaveLength(pkts.length);
    got.forEach((g, i) => {
      expect(g.readUInt32BE(4)).toBe(i); // GRE sequence number
      expect(g.subarray(20).equals(Buffer.from(pkts[i]!.data))).toBe(true);
    });
    expect(sender.stats().greTransport).toBe("raw");
  });
});
