/**
 * Packet-broker throughput on one core: `node --import tsx apps/agent/src/npb/bench.ts [capture]`
 * (default: bench/out/real-1m.pcap when present, else a synthetic capture in the temp dir).
 * The capture is read into memory first, then timed passes run over it:
 *   decode only | decode + broker (match-all policy, VXLAN, dedup on) with a no-op send |
 *   the same with dedup off | the same plus the real UDP sender to 127.0.0.1 (a discard socket).
 * Prints one JSON line per pass: packets, seconds, packets/s, copies.
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { readCaptureFile } from "../capture/capture-file.ts";
import { decodeFrame } from "../decode/packet.ts";
import { PacketMeta } from "../decode/packet-meta.ts";
import { writeSyntheticPcap } from "../testing/synthetic-pcap.ts";
import { createPacketBroker, type SendFn } from "./broker.ts";
import { createSender } from "./sender.ts";

const MAX_PACKETS = 600_000;

function load(path: string) {
  const chunks: Buffer[] = [];
  const offs: number[] = [];
  const lens: number[] = [];
  const ts: number[] = [];
  let linkType = 1;
  let size = 0;
  let cur = Buffer.allocUnsafe(64 << 20);
  readCaptureFile(
    path,
    (lt, buf, off, capLen, _w, t) => {
      if (offs.length >= MAX_PACKETS) return;
      linkType = lt;
      if (size + capLen > cur.length) {
        chunks.push(cur.subarray(0, size));
        cur = Buffer.allocUnsafe(64 << 20);
        size = 0;
      }
      cur.set(buf.subarray(off, off + capLen), size);
      offs.push(chunks.length * 2 ** 32 + size);
      lens.push(capLen);
      ts.push(t);
      size += capLen;
    },
    () => {},
  );
  chunks.push(cur.subarray(0, size));
  return { chunks, offs, lens, ts, linkType };
}

function pass(
  name: string,
  cap: ReturnType<typeof load>,
  onPacket: ((m: PacketMeta, b: Buffer, off: number, len: number, ts: number) => void) | null,
) {
  const m = new PacketMeta();
  const t0 = process.hrtime.bigint();
  const n = cap.offs.length;
  for (let i = 0; i < n; i++) {
    const o = cap.offs[i]!;
    const chunk = cap.chunks[Math.floor(o / 2 ** 32)]!;
    const off = o % 2 ** 32;
    decodeFrame(m, cap.linkType, chunk, off, cap.lens[i]!);
    if (onPacket) onPacket(m, chunk, off, cap.lens[i]!, cap.ts[i]!);
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return { pass: name, packets: n, seconds: +s.toFixed(3), packetsPerSecond: Math.round(n / s) };
}

async function main() {
  const arg = process.argv[2];
  let path = arg ? resolve(arg) : resolve(import.meta.dirname, "../../../../bench/out/real-1m.pcap");
  if (!existsSync(path)) {
    path = join(tmpdir(), "npb-bench-synthetic.pcap");
    writeSyntheticPcap(path, { flows: 20_000, dataRounds: 20, payload: 200 });
  }
  const cap = load(path);
  console.log(JSON.stringify({ capture: path, packets: cap.offs.length, linkType: cap.linkType }));
  const policies = [
    {
      id: "all",
      orgId: "bench",
      name: "everything",
      priority: 1,
      action: { destinations: [{ address: "127.0.0.1", port: 9 }], encap: { type: "vxlan", vni: 1 } },
    },
  ];
  let copies = 0;
  const noop: SendFn = () => {
    copies++;
  };
  const make = (dedup: boolean, send: SendFn) =>
    createPacketBroker({ policies, agentId: "bench", dedup, linkType: cap.linkType, send });
  for (let round = 0; round < 2; round++) {
    console.log(JSON.stringify(pass("decode only", cap, null)));
    for (const dedup of [true, false]) {
      copies = 0;
      const b = make(dedup, noop);
      const r = pass(
        `decode + broker, dedup ${dedup ? "on" : "off"}, no send`,
        cap,
        (m, buf, off, len, ts) => {
          b.onPacket(m, buf, off, len, ts);
        },
      );
      console.log(JSON.stringify({ ...r, copies }));
    }
  }
  // The real sender to a socket on loopback that a separate process binds and never reads (the
  // kernel queues, then drops): measures our send cost, not a JS receiver sharing this core.
  const sink = spawn("python3", [
    "-c",
    "import socket,sys,time\ns=socket.socket(2,2)\ns.bind(('127.0.0.1',0))\nprint(s.getsockname()[1],flush=True)\nsys.stdin.read()",
  ]);
  const port = await new Promise<number>((r) =>
    sink.stdout.once("data", (d: Buffer) => r(Number(d.toString().trim()))),
  );
  const n = Math.min(cap.offs.length, 300_000);
  for (const syscall of ["sendmmsg", "dgram"] as const) {
    const sender = createSender({ gre: "udp", ringBytes: 64 << 20, syscall });
    const b = createPacketBroker({
      policies: [
        {
          ...policies[0]!,
          action: { ...policies[0]!.action, destinations: [{ address: "127.0.0.1", port }] },
        },
      ],
      agentId: "bench",
      linkType: cap.linkType,
      send: sender.send,
    });
    const t0 = process.hrtime.bigint();
    const m = new PacketMeta();
    for (let i = 0; i < n; i++) {
      const o = cap.offs[i]!;
      const chunk = cap.chunks[Math.floor(o / 2 ** 32)]!;
      decodeFrame(m, cap.linkType, chunk, o % 2 ** 32, cap.lens[i]!);
      b.onPacket(m, chunk, o % 2 ** 32, cap.lens[i]!, cap.ts[i]!);
      if ((i & 16383) === 16383) await sender.flush();
    }
    await sender.flush();
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    const st = sender.stats();
    console.log(
      JSON.stringify({
        pass: `decode + broker + ${syscall} to loopback`,
        packets: n,
        seconds: +s.toFixed(3),
        sentPerSecond: Math.round(st.sent / s),
        ...st,
      }),
    );
    await sender.close();
  }
  sink.stdin.end();
  // tcpreplay (C) sending the same packets on lo, when installed.
  try {
    const t0 = process.hrtime.bigint();
    const out = execFileSync("tcpreplay", ["-i", "lo", "--topspeed", "-L", String(n), path], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    const rate = /Rated:.*?([\d.]+) pps/.exec(out)?.[1];
    console.log(
      JSON.stringify({
        pass: "tcpreplay --topspeed -i lo",
        packets: n,
        seconds: +s.toFixed(3),
        packetsPerSecond: rate ? Math.round(Number(rate)) : Math.round(n / s),
      }),
    );
  } catch (e) {
    console.log(JSON.stringify({ pass: "tcpreplay", skipped: (e as Error).message.split("\n")[0] }));
  }
}

await main();
