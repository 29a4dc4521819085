/**
 * Packet-broker throughput on one core: `npm run bench -- npb [capture]`, or
 * `node --import tsx apps/agent/src/npb/bench.ts [capture]` (default bench/out/real-1m.pcap when
 * present, else a synthetic capture; first 600 k packets, held in memory). Passes, one JSON line
 * each: decode only | decode + broker (match-all VXLAN policy) with a no-op send, dedup on and
 * off | delivery: decode + broker (dedup on) + the real sender, through the packet socket's TX
 * ring and through sendmmsg on a UDP socket, to a receiver process that reads every datagram,
 * with what its kernel counted (got, dropped at the socket buffer) | tcpreplay --topspeed of the
 * capture out of the same interface, and of our copies to the same receiver.
 * As root the run moves into a fresh veth lab (veth-lab.ts): delivery crosses a real interface
 * into another namespace, whose UDP counters belong to this run alone. Rates are given per wall
 * second and per CPU second of the sending process (the figure to compare on a busy machine).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { readCaptureFile } from "../capture/capture-file.ts";
import { decodeFrame } from "../decode/packet.ts";
import { PacketMeta } from "../decode/packet-meta.ts";
import { pcapFileHeader } from "../testing/pcap-header.ts";
import { writeSyntheticPcap } from "../testing/synthetic-pcap.ts";
import { createPacketBroker, type SendFn } from "./broker.ts";
import { ipChecksum } from "./encap.ts";
import { resolveRoute } from "./packet-ring.ts";
import { createSender } from "./sender.ts";
import { createVethLab, RECEIVER, startReceiver, type VethLab, vethLabUnavailable } from "./veth-lab.ts";

const MAX_PACKETS = 600_000;

interface BenchPolicy {
  id: string;
  orgId: string;
  name: string;
  priority: number;
  action: { destinations: { address: string; port?: number }[]; encap: { type: "vxlan"; vni: number } };
}

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
  const cpu0 = process.cpuUsage();
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
  const cpu = process.cpuUsage(cpu0);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  return {
    pass: name,
    packets: n,
    seconds: +s.toFixed(3),
    cpuSeconds: +cpuS.toFixed(3),
    packetsPerSecond: Math.round(n / s),
    packetsPerCpuSecond: Math.round(n / cpuS),
  };
}

async function main() {
  const arg = process.argv.slice(2).find((a) => !a.startsWith("--"));
  let path = arg ? resolve(arg) : resolve(import.meta.dirname, "../../../../bench/out/real-1m.pcap");
  if (!existsSync(path)) {
    path = join(tmpdir(), "npb-bench-synthetic.pcap");
    writeSyntheticPcap(path, { flows: 20_000, dataRounds: 20, payload: 200 });
  }
  const cap = load(path);
  console.log(JSON.stringify({ capture: path, packets: cap.offs.length, linkType: cap.linkType }));
  const policies: BenchPolicy[] = [
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
  await delivery(cap, path, policies[0]!);
}

/** CPU seconds of reaped children (utime + stime from /proc/self/stat), for tcpreplay. */
function childCpuSeconds(): number {
  const f = readFileSync("/proc/self/stat", "utf8").split(") ")[1]!.split(" ");
  return (Number(f[13]) + Number(f[14])) / 100; // cutime, cstime (fields 16, 17), USER_HZ 100
}

/**
 * Delivery: decode + broker (match-all VXLAN policy, dedup on) + the real sender, to a receiver
 * on another host, i.e. in the veth lab's rx namespace when running there (root), else on
 * 127.0.0.1; then tcpreplay --topspeed sending the same packets out of the same interface.
 */
async function delivery(cap: ReturnType<typeof load>, path: string, base: BenchPolicy) {
  const lab = process.env.FLOWPLANE_NPB_LAB
    ? (JSON.parse(process.env.FLOWPLANE_NPB_LAB) as VethLab & { split: boolean })
    : null;
  const to = lab ? lab.rxIp : "127.0.0.1";
  const dev = lab ? lab.txDev : "lo";
  const port = 4789;
  const rxArgv = ["python3", "-c", RECEIVER, to, String(port)];
  const n = cap.offs.length;
  const copies = lab ? writeCopies(cap, base, to, port) : null;
  console.log(
    JSON.stringify({
      delivery: lab
        ? `veth ${lab.txDev} (ns ${lab.tx}) -> ${lab.rxIp} (ns ${lab.rx}); receiver counters are the rx namespace's; ${
            lab.split
              ? "senders pinned to CPU 0, the receiving kernel's work on the other CPUs (RPS)"
              : "sender and receiving kernel work share CPUs (--same-cpu)"
          }`
        : "127.0.0.1 on lo (not root: no veth lab; receiver counters include the host's other UDP traffic)",
      loadavg: readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" "),
    }),
  );
  // A third address behind the same interface whose MAC nobody has: copies to it cross the wire
  // and are dropped on arrival, as tcpreplay's frames of the capture are (no receiver's work).
  const nowhere = "10.78.0.3";
  if (lab)
    execFileSync("ip", [
      "neigh",
      "replace",
      nowhere,
      "lladdr",
      "02:00:00:00:00:99",
      "dev",
      dev,
      "nud",
      "permanent",
    ]);
  const modes = [
    { name: "packet socket TX ring", to, o: { packetSocket: "require", syscall: "sendmmsg" } },
    { name: "sendmmsg UDP socket", to, o: { packetSocket: "off", syscall: "sendmmsg" } },
    {
      name: "packet socket TX ring, to a MAC nobody has (dropped on arrival, like tcpreplay's capture)",
      to: nowhere,
      o: { packetSocket: "require", syscall: "sendmmsg" },
    },
  ] as const;
  for (let round = 0; round < 2; round++) {
    for (const mode of modes) {
      if (mode.o.packetSocket === "require" && !lab) continue;
      const rx =
        mode.to === to
          ? await startReceiver(lab ? ["ip", "netns", "exec", lab.rx, ...rxArgv] : rxArgv)
          : null;
      const sender = createSender({ gre: "udp", ringBytes: 64 << 20, ...mode.o });
      const b = createPacketBroker({
        policies: [{ ...base, action: { ...base.action, destinations: [{ address: mode.to, port }] } }],
        agentId: "bench",
        linkType: cap.linkType,
        send: sender.send,
        direct: sender,
      });
      const m = new PacketMeta();
      const cpu0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) {
        const o = cap.offs[i]!;
        const chunk = cap.chunks[Math.floor(o / 2 ** 32)]!;
        decodeFrame(m, cap.linkType, chunk, o % 2 ** 32, cap.lens[i]!);
        b.onPacket(m, chunk, o % 2 ** 32, cap.lens[i]!, cap.ts[i]!);
        if ((i & 16383) === 16383) await sender.flush();
      }
      await sender.flush();
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      const cpu = process.cpuUsage(cpu0);
      const cpuS = (cpu.user + cpu.system) / 1e6;
      const st = sender.stats();
      const routes = sender.routeReasons();
      await sender.close();
      const got = rx ? await rx.stop() : null;
      console.log(
        JSON.stringify({
          pass: `decode + broker (dedup on) + ${mode.name}`,
          packets: n,
          seconds: +s.toFixed(3),
          cpuSeconds: +cpuS.toFixed(3),
          sentPerSecond: Math.round(st.sent / s),
          sentPerCpuSecond: Math.round(st.sent / cpuS),
          sent: st.sent,
          droppedAtSender: st.dropped,
          sendErrors: st.errors,
          ...(got
            ? {
                receiverSocketGot: got.inDatagrams,
                receiverRead: got.read,
                droppedAtReceiverBuffer: got.rcvbufErrors,
              }
            : {}),
          packetRing: st.packetRing,
          ringStalls: st.ringStalls,
          ringOverflows: st.ringOverflows,
          ...(st.ringStalls ? { ringLastErrno: st.ringLastErrno } : {}),
          meanBatch: st.packetRing
            ? Math.round(st.packetRing / st.ringFlushes)
            : Math.round(st.sent / st.batches),
          ...(st.packetRing ? {} : { route: routes[mode.to] }),
        }),
      );
    }
    // tcpreplay (C, a packet socket, one syscall per frame) sending the same packets out of the
    // same interface; its frames are not for the receiver's host and are dropped on arrival.
    await tcpreplay(`tcpreplay --topspeed -i ${dev} (the capture)`, dev, path, n, null);
    // The same tool sending our copies (the frames the packet socket sent, to the same
    // receiver): the same kernel work per frame on both sides, only the sender differs.
    if (copies) await tcpreplay(`tcpreplay --topspeed -i ${dev} (the copies)`, dev, copies, n, rxArgv, lab);
  }
  if (copies) rmSync(copies, { force: true });
}

/** Writes the copies the broker makes for this capture as Ethernet frames, as the ring sends them. */
function writeCopies(
  cap: ReturnType<typeof load>,
  base: BenchPolicy,
  to: string,
  port: number,
): string | null {
  const route = resolveRoute(to);
  if (typeof route === "string") return null;
  const parts: Buffer[] = [];
  parts.push(pcapFileHeader(262144));
  const send: SendFn = (_d, packet, len) => {
    const r = Buffer.alloc(16 + 14 + len);
    r.writeUInt32LE(1_700_000_000, 0);
    r.writeUInt32LE(14 + len, 8);
    r.writeUInt32LE(14 + len, 12);
    r.set(route.eth, 16);
    r.set(packet.subarray(0, len), 30);
    // The outer source, as the ring writes it (checksum over the rewritten header).
    r.writeInt32BE(route.src, 30 + 12);
    r.writeUInt16BE(0, 30 + 10);
    r.writeUInt16BE(ipChecksum(r, 30, 20), 30 + 10);
    parts.push(r);
  };
  const b = createPacketBroker({
    policies: [{ ...base, action: { ...base.action, destinations: [{ address: to, port }] } }],
    agentId: "bench",
    linkType: cap.linkType,
    send,
  });
  const m = new PacketMeta();
  for (let i = 0; i < cap.offs.length; i++) {
    const o = cap.offs[i]!;
    const chunk = cap.chunks[Math.floor(o / 2 ** 32)]!;
    decodeFrame(m, cap.linkType, chunk, o % 2 ** 32, cap.lens[i]!);
    b.onPacket(m, chunk, o % 2 ** 32, cap.lens[i]!, cap.ts[i]!);
  }
  const out = join(tmpdir(), `npb-bench-copies-${process.pid}.pcap`);
  writeFileSync(out, Buffer.concat(parts));
  return out;
}

async function tcpreplay(
  name: string,
  dev: string,
  file: string,
  n: number,
  rxArgv: string[] | null,
  lab?: VethLab | null,
): Promise<void> {
  try {
    const rx = rxArgv ? await startReceiver(lab ? ["ip", "netns", "exec", lab.rx, ...rxArgv] : rxArgv) : null;
    const c0 = childCpuSeconds();
    const t0 = process.hrtime.bigint();
    const out = execFileSync("tcpreplay", ["-i", dev, "--topspeed", "-L", String(n), file], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpuS = childCpuSeconds() - c0;
    const got = rx ? await rx.stop() : null;
    const rate = /Rated:.*?([\d.]+) pps/.exec(out)?.[1];
    const sent = Number(/Actual: (\d+) packets/.exec(out)?.[1] ?? n);
    // Frames over the interface MTU (the capture holds GRO-merged ones) fail with EMSGSIZE.
    const failed = Number(/Failed packets:\s+(\d+)/.exec(out)?.[1] ?? 0);
    console.log(
      JSON.stringify({
        pass: name,
        packets: sent,
        failed,
        seconds: +s.toFixed(3),
        cpuSeconds: +cpuS.toFixed(2),
        packetsPerSecond: rate ? Math.round(Number(rate)) : Math.round(sent / s),
        packetsPerCpuSecond: cpuS > 0 ? Math.round(sent / cpuS) : null,
        ...(got
          ? {
              receiverSocketGot: got.inDatagrams,
              receiverRead: got.read,
              droppedAtReceiverBuffer: got.rcvbufErrors,
            }
          : {}),
      }),
    );
  } catch (e) {
    console.log(JSON.stringify({ pass: name, skipped: (e as Error).message.split("\n")[0] }));
  }
}

/**
 * As root, the whole bench reruns inside the tx side of a fresh veth lab (removed afterwards),
 * so delivery crosses a real interface to a receiver in another namespace.
 */
function inLab(): boolean {
  if (process.env.FLOWPLANE_NPB_LAB || vethLabUnavailable() !== undefined) return false;
  // Senders (this process, tcpreplay) on CPU 0, the receiving side's kernel work on the others
  // (RPS), as if the tool were another host; `--same-cpu` leaves both wherever they fall.
  const split = availableParallelism() > 1 && !process.argv.includes("--same-cpu");
  const lab = createVethLab(
    split ? { rxCpus: ((2 ** Math.min(availableParallelism(), 31) - 1) & ~1).toString(16) } : {},
  );
  try {
    const r = spawnSync(
      "ip",
      [
        "netns",
        "exec",
        lab.tx,
        ...(split ? ["taskset", "-c", "0"] : []),
        process.execPath,
        ...process.execArgv,
        process.argv[1]!,
        ...process.argv.slice(2),
      ],
      {
        stdio: "inherit",
        env: { ...process.env, FLOWPLANE_NPB_LAB: JSON.stringify({ ...lab, split }) },
      },
    );
    if (r.status !== 0) process.exitCode = r.status ?? 1;
  } finally {
    lab.close();
  }
  return true;
}

if (!inLab()) await main();
