/**
 * The packet broker's packet-socket path (AF_PACKET TX ring) over a real interface: the sender
 * runs in the tx namespace of a veth lab, the tool in the rx namespace (a UDP receiver on the
 * VXLAN port, tcpdump on the interface). What arrives is decoded by tshark and compared byte
 * for byte with the original frames; the receiving kernel must hand every VXLAN copy to the
 * socket (outer IPv4 checksum right, zero UDP checksum accepted). Needs root, iproute2, tcpdump
 * and tshark: without them the suite fails with the reason rather than skipping.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { sharedPcapsDir } from "@flowplane/core/shared-dir";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readCaptureFile } from "../../src/capture/capture-file.ts";
import { ipChecksum } from "../../src/npb/encap.ts";
import {
  createVethLab,
  RECEIVER,
  startReceiver,
  type VethLab,
  vethLabUnavailable,
} from "../../src/npb/veth-lab.ts";
import { pcapFileHeader } from "../../src/testing/pcap-header.ts";
import { policy } from "../npb/fixtures.ts";
import { tsharkFields } from "../npb/pcap-out.ts";

const HERE = dirname(fileURLToPath(import.meta.url));
const SENDER = join(HERE, "npb-ring-sender.ts");
let dir = "";
const labs: VethLab[] = [];

beforeAll(() => {
  const why =
    vethLabUnavailable() ??
    (spawnSync("sh", ["-c", "command -v tcpdump && command -v tshark"]).status !== 0
      ? "tcpdump and tshark are needed"
      : undefined);
  if (why) throw new Error(`packet-socket delivery test cannot run here: ${why}`);
  dir = mkdtempSync(join(tmpdir(), "fp-npb-ring-"));
});
afterAll(() => {
  for (const lab of labs.splice(0)) lab.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function frames(path: string): Buffer[] {
  const out: Buffer[] = [];
  readCaptureFile(
    path,
    (_lt, buf, off, capLen) => out.push(Buffer.from(buf.subarray(off, off + capLen))),
    () => {},
  );
  return out;
}

/** tcpdump on the rx side of the lab (IPv4 from the sender only: no IPv6 or ARP chatter). */
async function capture(lab: VethLab, file: string): Promise<{ stop(): Promise<void> }> {
  const p: ChildProcess = spawn(
    "ip",
    // --immediate-mode and -U: nothing left in a libpcap block at SIGINT; -Z root: write where root can.
    [
      ...["netns", "exec", lab.rx, "tcpdump", "-n", "-B", "16384", "--immediate-mode", "-U", "-Z", "root"],
      ...["-i", lab.rxDev, "-w", file, `ip and src ${lab.txIp}`],
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  await new Promise<void>((resolve, reject) => {
    let err = "";
    p.stderr!.on("data", (d: Buffer) => {
      err += d.toString();
      if (err.includes("listening on")) resolve();
    });
    p.once("exit", (c) => reject(new Error(`tcpdump exited ${c}: ${err}`)));
  });
  return {
    stop: async () => {
      await new Promise((r) => setTimeout(r, 200));
      const done = new Promise((r) => p.once("exit", r));
      p.kill("SIGINT");
      await done;
    },
  };
}

/** The tool in the lab's receiving namespace, reading the VXLAN port. */
const vxlanReceiver = (lab: VethLab) =>
  startReceiver(["ip", "netns", "exec", lab.rx, "python3", "-c", RECEIVER, lab.rxIp, "4789"]);

interface SenderRun {
  stats: { sent: number; packetRing: number; dropped: number; errors: number };
  routes: Record<string, string>;
}
function runSender(lab: VethLab, arg: object): SenderRun {
  const r = spawnSync(
    "ip",
    ["netns", "exec", lab.tx, process.execPath, "--import", "tsx", SENDER, JSON.stringify(arg)],
    { encoding: "utf8", cwd: join(HERE, "..", "..") },
  );
  if (r.status !== 0) throw new Error(`sender exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!) as SenderRun;
}

const rxMac = (lab: VethLab) =>
  (
    JSON.parse(
      spawnSync("ip", ["-n", lab.rx, "-j", "link", "show", lab.rxDev], { encoding: "utf8" }).stdout,
    ) as { address: string }[]
  )[0]!.address;

describe("packet broker delivery through the packet socket (veth lab)", () => {
  it.each([
    ["built in the ring's slot", true],
    ["handed to send()", false],
  ])(
    "VXLAN (%s): every copy reaches the tool's socket; inner frames byte-identical, outer headers valid",
    async (_how, direct) => {
      const lab = createVethLab({ mtu: 9000 }); // full-size frames + VXLAN/ERSPAN headers go out whole
      labs.push(lab);
      const pcaps = ["http1-get.pcap", "vlan-http.pcap"];
      const originals = pcaps.flatMap((p) => frames(join(sharedPcapsDir(), p)));
      const file = join(dir, "vxlan.pcap");
      const tap = await capture(lab, file);
      const rx = await vxlanReceiver(lab);
      const run = runSender(lab, {
        pcaps,
        direct,
        packetSocket: "require",
        policy: policy({
          action: { destinations: [{ address: lab.rxIp }], encap: { type: "vxlan", vni: 4242 } },
        }),
      });
      await tap.stop();
      const got = await rx.stop();
      expect(run.routes[lab.rxIp]).toBe(`packet socket on ${lab.txDev}`);
      expect(run.stats).toMatchObject({
        sent: originals.length,
        packetRing: originals.length,
        dropped: 0,
        errors: 0,
      });
      expect(got).toEqual({ read: originals.length, inDatagrams: originals.length, rcvbufErrors: 0 });

      const wire = frames(file);
      expect(wire).toHaveLength(originals.length);
      const mac = Buffer.from(
        rxMac(lab)
          .split(":")
          .map((h) => Number.parseInt(h, 16)),
      );
      wire.forEach((f, i) => {
        expect(f.subarray(0, 6).equals(mac)).toBe(true); // next hop's MAC from the neighbour table
        expect(ipChecksum(f, 14, 20)).toBe(0); // a valid header sums to zero
        expect(f.subarray(26, 30).join(".")).toBe(lab.txIp); // outer source: the route's
        expect(f.readUInt16BE(36)).toBe(4789);
        expect(f.readUInt16BE(40)).toBe(0); // UDP checksum 0 (allowed over IPv4, RFC 7348)
        expect(f.readUIntBE(46, 3)).toBe(4242);
        expect(f.subarray(50).equals(originals[i]!)).toBe(true);
      });
      const rows = tsharkFields(
        file,
        ["frame.protocols", "vxlan.vni", "ip.checksum.status"],
        ["-o", "ip.check_checksum:TRUE"],
      );
      expect(rows).toHaveLength(originals.length);
      for (const r of rows) {
        expect(r[0]).toMatch(/^eth:ethertype:ip:udp:vxlan:eth:ethertype:(vlan:ethertype:)?ip:tcp/);
        expect(r[1]).toBe("4242");
        expect(r[2]!.split(",")[0]).toBe("1"); // outer header checksum: 1 = Good (0 Bad, 2 Unverified)
      }
    },
  );

  it("ERSPAN III (IP protocol 47) needs no raw-socket package: GRE sequence and inner frames intact", async () => {
    const lab = createVethLab({ mtu: 9000 }); // full-size frames + VXLAN/ERSPAN headers go out whole
    labs.push(lab);
    const originals = frames(join(sharedPcapsDir(), "http1-get.pcap"));
    const file = join(dir, "erspan3.pcap");
    const tap = await capture(lab, file);
    const run = runSender(lab, {
      pcaps: ["http1-get.pcap"],
      direct: true,
      packetSocket: "require",
      policy: policy({
        action: { destinations: [{ address: lab.rxIp }], encap: { type: "erspan3", sessionId: 517 } },
      }),
    });
    await tap.stop();
    expect(run.stats).toMatchObject({ sent: originals.length, packetRing: originals.length, errors: 0 });
    const wire = frames(file);
    expect(wire).toHaveLength(originals.length);
    wire.forEach((f, i) => {
      expect(f[23]).toBe(47);
      expect(ipChecksum(f, 14, 20)).toBe(0);
      expect(f.readUInt32BE(38)).toBe(i); // GRE sequence number
      expect(f.subarray(54).equals(originals[i]!)).toBe(true);
    });
    const rows = tsharkFields(file, ["frame.protocols", "erspan.spanid", "erspan.version"]);
    for (const r of rows) {
      expect(r[0]).toMatch(/^eth:ethertype:ip:gre:erspan:eth:ethertype:ip:tcp/);
      expect(r[1]).toBe("517");
      expect(r[2]).toBe("2");
    }
  });

  it("no neighbour entry yet: copies take the UDP socket (which resolves it) and all arrive", async () => {
    const lab = createVethLab({ neighbour: false });
    labs.push(lab);
    const n = frames(join(sharedPcapsDir(), "http1-get.pcap")).length;
    const rx = await vxlanReceiver(lab);
    const run = runSender(lab, {
      pcaps: ["http1-get.pcap"],
      packetSocket: "auto",
      policy: policy({ action: { destinations: [{ address: lab.rxIp }], encap: { type: "vxlan", vni: 7 } } }),
    });
    const got = await rx.stop();
    expect(run.routes[lab.rxIp]).toMatch(/^no neighbour entry for 10\.78\.0\.2/);
    expect(run.stats).toMatchObject({ sent: n, packetRing: 0, errors: 0 });
    expect(got.read).toBe(n);
    // The socket path's ARP filled the table: the next sender would use the packet socket.
    const neigh = spawnSync("ip", ["-n", lab.tx, "neigh", "show", lab.rxIp], { encoding: "utf8" }).stdout;
    expect(neigh).toMatch(/lladdr/);
  });

  it("copies over the MTU leave the ring as IPv4 fragments that reassemble to the whole copy", async () => {
    const lab = createVethLab(); // MTU 1500: copies of these frames are 2-45 fragments each
    labs.push(lab);
    // Ethernet/IPv4/TCP frames as GRO hands them to a capture, over the MTU, and one that fits.
    const sizes = [3000, 1400, 9014, 20_000, 65_000, 1515];
    const originals = sizes.map((n, i) => {
      const f = Buffer.alloc(n);
      for (let k = 54; k < n; k++) f[k] = (k * 13 + i) & 255;
      f.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0], 0);
      f.set([0x45, 0, ((n - 14) >>> 8) & 255, (n - 14) & 255, 0, i, 0x40, 0, 64, 6, 0, 0], 14);
      f.set([192, 168, 7, 1, 192, 168, 7, 2], 26);
      f.writeUInt16BE(Math.min(n - 14, 0xffff), 16);
      f.writeUInt16BE(ipChecksum(f, 14, 20), 24);
      f.set([0x9c, 0x40, 0x1f, 0x90, 0, 0, 0, i, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff], 34);
      return f;
    });
    const input = join(dir, "big-frames.pcap");
    const parts: Buffer[] = [pcapFileHeader(262144)];
    originals.forEach((f, i) => {
      const r = Buffer.alloc(16);
      r.writeUInt32LE(1_700_000_000 + i, 0);
      r.writeUInt32LE(f.length, 8);
      r.writeUInt32LE(f.length, 12);
      parts.push(r, f);
    });
    writeFileSync(input, Buffer.concat(parts));
    const file = join(dir, "fragments.pcap");
    const tap = await capture(lab, file);
    const rx = await vxlanReceiver(lab);
    const run = runSender(lab, {
      pcaps: [input],
      direct: true,
      packetSocket: "require",
      policy: policy({
        action: { destinations: [{ address: lab.rxIp }], encap: { type: "vxlan", vni: 99 } },
      }),
    });
    await tap.stop();
    const got = await rx.stop();
    const big = sizes.filter((n) => n + 50 > 1514).length;
    expect(run.stats).toMatchObject({
      sent: sizes.length,
      packetRing: sizes.length,
      ringFragmented: big,
      ringOverflows: 0,
      errors: 0,
      dropped: 0,
    });
    // The receiving kernel reassembled every copy and handed it whole to the tool's socket.
    expect(got).toEqual({ read: sizes.length, inDatagrams: sizes.length, rcvbufErrors: 0 });

    // On the wire: fragments of at most 1 500 bytes, valid headers; put back together by id,
    // each is the whole VXLAN copy of its original frame.
    const wire = frames(file);
    const byId = new Map<number, Buffer[]>();
    for (const f of wire) {
      expect(f.length).toBeLessThanOrEqual(1514);
      expect(ipChecksum(f, 14, 20)).toBe(0);
      const id = f.readUInt16BE(18);
      byId.set(id, [...(byId.get(id) ?? []), f.subarray(14)]);
    }
    expect(wire.length).toBeGreaterThan(sizes.length + 40);
    const copies = [...byId.values()].map((frags) => {
      const total = Math.max(...frags.map((ip) => (ip.readUInt16BE(6) & 0x1fff) * 8 + ip.length - 20));
      const whole = Buffer.alloc(20 + total);
      for (const ip of frags) ip.copy(whole, 20 + (ip.readUInt16BE(6) & 0x1fff) * 8, 20);
      const last = frags.find((ip) => (ip.readUInt16BE(6) & 0x2000) === 0);
      expect(last).toBeDefined();
      expect(frags.reduce((s, ip) => s + ip.length - 20, 0)).toBe(total); // no gap, no overlap
      return whole;
    });
    expect(copies).toHaveLength(sizes.length);
    copies.forEach((c, i) => {
      expect(c.readUInt16BE(20 + 2)).toBe(4789);
      expect(c.readUInt16BE(20 + 4)).toBe(c.length - 20); // UDP length: the whole copy's
      expect(c.subarray(36).equals(originals[i]!)).toBe(true);
    });
    // tshark reassembles them too and decodes the whole copy.
    const rows = tsharkFields(
      file,
      ["vxlan.vni", "tcp.srcport", "frame.protocols"],
      ["-o", "ip.defragment:TRUE"],
    );
    const whole = rows.filter((r) => r[0] === "99");
    expect(whole).toHaveLength(sizes.length);
    for (const r of whole) {
      expect(r[1]).toBe("40000");
      expect(r[2]).toMatch(/^eth:ethertype:ip:udp:vxlan:eth:ethertype:ip:tcp/);
    }
  });
});
