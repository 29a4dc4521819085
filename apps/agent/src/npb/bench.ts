/**
 * Packet-broker throughput on one core: `npm run bench -- npb [capture] [--same-cpu]
 * [--rounds=N] [--only=dead,capture,rx,copies,sockets]`, or `node --import tsx
 * apps/agent/src/npb/bench.ts ...` (default bench/out/real-1m.pcap when present, else a
 * synthetic capture; first 600 k packets, held in memory). Passes, one JSON line each: decode
 * only | decode + broker (match-all VXLAN policy) with a no-op send, dedup on and off | then N
 * delivery rounds (default 3, pass order alternating), each: decode + broker (dedup on) + the
 * real sender through the packet socket's TX ring to an address whose MAC nobody has (`dead`),
 * tcpreplay --topspeed of the capture out of the same interface (`capture`), the TX ring to a
 * receiver process that reads every datagram (`rx`, with what its kernel counted), tcpreplay of
 * our copies to the same receiver (`copies`), and sendmmsg on a UDP socket to it (`sockets`).
 * Last, each pass's median and range, and one line per comparison giving ours / tcpreplay per
 * CPU second and per wall second, round by round (docs/packet-broker.md "Throughput").
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
import { fragmentCount, writeFragment } from "./fragment.ts";
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
  const noSend = process.argv.some((a) => a.startsWith("--only=")) ? 0 : 2;
  for (let round = 0; round < noSend; round++) {
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

/** One timed pass of a delivery round: packets forwarded (ours) or sent (tcpreplay). */
interface Reading {
  packets: number;
  seconds: number;
  cpuSeconds: number;
}

const PASSES = {
  dead: "ours: decode + broker (dedup on) + TX ring → a MAC nobody has (dropped on arrival)",
  capture: "tcpreplay --topspeed, the capture (dropped on arrival)",
  rx: "ours: decode + broker (dedup on) + TX ring → receiver",
  copies: "tcpreplay --topspeed, our copies → receiver",
  sockets: "ours: decode + broker (dedup on) + sendmmsg UDP socket → receiver",
} as const;
type PassKey = keyof typeof PASSES;

const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const k = (v: number) => (v >= 1e6 ? `${(v / 1e6).toFixed(2)} M` : `${Math.round(v / 1e3)} k`);
const x = (v: number) => `${v.toFixed(2)}×`;

/**
 * Delivery, in rounds (`--rounds=N`, default 3; the order of the passes alternates between
 * rounds so that a drift in the machine's load does not favour one side): decode + broker
 * (match-all VXLAN policy, dedup on) + the real sender to a receiver on another host, i.e. in
 * the veth lab's rx namespace when running there (root), else on 127.0.0.1; the same through
 * the TX ring to an address whose MAC nobody has; tcpreplay --topspeed sending the capture out
 * of the same interface, and sending our copies to the receiver. Then each pass's median and
 * range, and the ratios ours / tcpreplay per CPU second and per wall second, round by round.
 */
async function delivery(cap: ReturnType<typeof load>, path: string, base: BenchPolicy) {
  const lab = process.env.FLOWPLANE_NPB_LAB
    ? (JSON.parse(process.env.FLOWPLANE_NPB_LAB) as VethLab & { split: boolean })
    : null;
  const to = lab ? lab.rxIp : "127.0.0.1";
  const dev = lab ? lab.txDev : "lo";
  const port = 4789;
  const rxArgv = ["python3", "-c", RECEIVER, to, String(port)];
  const rounds = Number(
    /^--rounds=(\d+)$/.exec(process.argv.find((a) => a.startsWith("--rounds=")) ?? "")?.[1] ?? 3,
  );
  const only = process.argv
    .find((a) => a.startsWith("--only="))
    ?.slice(7)
    .split(",");
  const n = cap.offs.length;
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
  const copies = lab && (!only || only.includes("copies")) ? writeCopies(cap, base, to, port) : null;
  console.log(
    JSON.stringify({
      delivery: lab
        ? `veth ${lab.txDev} (ns ${lab.tx}) -> ${lab.rxIp} (ns ${lab.rx}); receiver counters are the rx namespace's; ${
            lab.split
              ? "senders pinned to CPU 0, the receiving kernel's work on the other CPUs (RPS)"
              : "sender and receiving kernel work share CPUs (--same-cpu)"
          }`
        : "127.0.0.1 on lo (not root: no veth lab, no TX ring; receiver counters include the host's other UDP traffic)",
      rounds,
      loadavg: readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" "),
    }),
  );
  const keys: PassKey[] = (
    lab ? (["dead", "capture", "rx", "copies", "sockets"] as const) : (["capture", "sockets"] as const)
  ).filter((p) => !only || only.includes(p));
  const readings = new Map<PassKey, Reading[]>(keys.map((p) => [p, []]));
  for (let round = 0; round < rounds; round++) {
    for (const key of round % 2 === 0 ? keys : [...keys].reverse()) {
      let r: Reading | null;
      if (key === "capture") r = await tcpreplay(PASSES[key], dev, path, n, null);
      else if (key === "copies")
        r = copies
          ? await tcpreplay(PASSES[key], dev, copies.file, copies.frames, rxArgv, lab, copies.copies)
          : null;
      else
        r = await ours(
          PASSES[key],
          cap,
          base,
          key === "dead" ? nowhere : to,
          port,
          key !== "sockets",
          key === "dead" ? null : lab ? ["ip", "netns", "exec", lab.rx, ...rxArgv] : rxArgv,
        );
      if (r) readings.get(key)!.push(r);
    }
  }
  if (copies) rmSync(copies.file, { force: true });
  summarize(readings);
}

function summarize(readings: Map<PassKey, Reading[]>): void {
  const perCpu = (r: Reading) => r.packets / r.cpuSeconds;
  const perWall = (r: Reading) => r.packets / r.seconds;
  for (const [key, rs] of readings) {
    if (rs.length === 0) continue;
    const c = rs.map(perCpu);
    const w = rs.map(perWall);
    console.log(
      JSON.stringify({
        summary: PASSES[key],
        rounds: rs.length,
        perCpuSecond: {
          median: Math.round(median(c)),
          min: Math.round(Math.min(...c)),
          max: Math.round(Math.max(...c)),
        },
        perWallSecond: {
          median: Math.round(median(w)),
          min: Math.round(Math.min(...w)),
          max: Math.round(Math.max(...w)),
        },
      }),
    );
  }
  // Round by round (passes of one round ran within seconds of each other): ours / tcpreplay.
  const ratio = (ours: PassKey, theirs: PassKey, what: string) => {
    const a = readings.get(ours) ?? [];
    const b = readings.get(theirs) ?? [];
    const m = Math.min(a.length, b.length);
    if (m === 0) return;
    const rc: number[] = [];
    const rw: number[] = [];
    for (let i = 0; i < m; i++) {
      rc.push(perCpu(a[i]!) / perCpu(b[i]!));
      rw.push(perWall(a[i]!) / perWall(b[i]!));
    }
    const met = Math.min(...rc, ...rw) >= 1;
    console.log(
      `ratio ours / tcpreplay, ${what}: per CPU second ${x(median(rc))} (rounds ${x(Math.min(...rc))}-${x(Math.max(...rc))}; ` +
        `${k(median(a.map(perCpu)))} vs ${k(median(b.map(perCpu)))}), per wall second ${x(median(rw))} ` +
        `(rounds ${x(Math.min(...rw))}-${x(Math.max(...rw))}; ${k(median(a.map(perWall)))}/s vs ${k(median(b.map(perWall)))}/s)` +
        ` — at least tcpreplay's rate on every reading: ${met ? "YES" : "NO"}`,
    );
  };
  ratio(
    "dead",
    "capture",
    "like for like (ours → a MAC nobody has / tcpreplay of the capture, both dropped on arrival)",
  );
  ratio(
    "rx",
    "capture",
    "to the receiver (ours → receiver / tcpreplay of the capture, the issue's yardstick)",
  );
  ratio("rx", "copies", "same frames, same receiver (ours → receiver / tcpreplay of our copies → receiver)");
  ratio("sockets", "capture", "sockets (ours sendmmsg → receiver / tcpreplay of the capture)");
}

/** Decode + broker (dedup on) + the real sender over the whole capture; the receiver's counts when given. */
async function ours(
  name: string,
  cap: ReturnType<typeof load>,
  base: BenchPolicy,
  to: string,
  port: number,
  ring: boolean,
  rxArgv: string[] | null,
): Promise<Reading> {
  const n = cap.offs.length;
  const rx = rxArgv ? await startReceiver(rxArgv) : null;
  const sender = createSender({
    gre: "udp",
    // The sockets' queue: room for every copy when they are the path; else the default (a
    // 64 MiB buffer made per pass set off a full GC in the timed loop).
    ringBytes: ring ? undefined : 64 << 20,
    syscall: "sendmmsg",
    packetSocket: ring ? "require" : "off",
  });
  const b = createPacketBroker({
    policies: [{ ...base, action: { ...base.action, destinations: [{ address: to, port }] } }],
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
      pass: name,
      packets: n,
      // Forwarded packets: copies handed to the kernel (a copy sent as fragments counts once).
      sent: st.sent,
      seconds: +s.toFixed(3),
      cpuSeconds: +cpuS.toFixed(3),
      userSeconds: +(cpu.user / 1e6).toFixed(3),
      systemSeconds: +(cpu.system / 1e6).toFixed(3),
      sentPerSecond: Math.round(st.sent / s),
      sentPerCpuSecond: Math.round(st.sent / cpuS),
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
      ringFrames: st.ringFrames,
      ringFragmented: st.ringFragmented,
      ringStalls: st.ringStalls,
      ringOverflows: st.ringOverflows,
      ...(st.ringStalls ? { ringLastErrno: st.ringLastErrno } : {}),
      meanBatch: st.packetRing
        ? Math.round(st.ringFrames / st.ringFlushes)
        : Math.round(st.sent / st.batches),
      ...(st.packetRing ? {} : { route: routes[to] }),
    }),
  );
  return { packets: st.sent, seconds: s, cpuSeconds: cpuS };
}

/**
 * Writes the copies the broker makes for this capture as the ring sends them: Ethernet frames,
 * the route's outer source, and copies over the MTU as their IPv4 fragments.
 */
function writeCopies(
  cap: ReturnType<typeof load>,
  base: BenchPolicy,
  to: string,
  port: number,
): { file: string; frames: number; copies: number } | null {
  const route = resolveRoute(to);
  if (typeof route === "string") return null;
  const parts: Buffer[] = [];
  parts.push(pcapFileHeader(262144));
  const record = (len: number) => {
    const r = Buffer.alloc(16 + 14 + len);
    r.writeUInt32LE(1_700_000_000, 0);
    r.writeUInt32LE(14 + len, 8);
    r.writeUInt32LE(14 + len, 12);
    r.set(route.eth, 16);
    parts.push(r);
    return r;
  };
  const withSource = (r: Buffer) => {
    r.writeInt32BE(route.src, 30 + 12);
    r.writeUInt16BE(0, 30 + 10);
    r.writeUInt16BE(ipChecksum(r, 30, 20), 30 + 10);
  };
  let made = 0;
  const send: SendFn = (_d, packet, len) => {
    made++;
    if (len <= route.mtu) {
      const r = record(len);
      r.set(packet.subarray(0, len), 30);
      withSource(r);
      return;
    }
    const frags = fragmentCount(packet, len, route.mtu);
    const tmp = Buffer.alloc(route.mtu);
    for (let i = 0; i < frags; i++) {
      const fl = writeFragment(packet, len, route.mtu, i, tmp, 0);
      const r = record(fl);
      tmp.copy(r, 30, 0, fl);
      withSource(r);
    }
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
  return { file: out, frames: parts.length - 1, copies: made };
}

/**
 * tcpreplay (C, a packet socket, one syscall per frame) sending `file` out of `dev`. Counted:
 * the packets it actually sent ("Actual" less "Failed packets": frames over the interface MTU,
 * the capture's GRO-merged ones, fail with EMSGSIZE and are not sent); wall: its own timing of
 * the sending loop ("sent in X seconds"); CPU: the reaped child's, start-up included.
 */
async function tcpreplay(
  name: string,
  dev: string,
  file: string,
  n: number,
  rxArgv: string[] | null,
  lab?: VethLab | null,
  copies?: number,
): Promise<Reading | null> {
  try {
    const rx = rxArgv ? await startReceiver(lab ? ["ip", "netns", "exec", lab.rx, ...rxArgv] : rxArgv) : null;
    const c0 = childCpuSeconds();
    const t0 = process.hrtime.bigint();
    const out = execFileSync("tcpreplay", ["-i", dev, "--topspeed", "-L", String(n), file], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      maxBuffer: 64 << 20,
    });
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpuS = childCpuSeconds() - c0;
    const got = rx ? await rx.stop() : null;
    const actual = /Actual: (\d+) packets \(\d+ bytes\) sent in ([\d.]+) seconds/.exec(out);
    const attempted = Number(actual?.[1] ?? n);
    const s = Number(actual?.[2] ?? wall);
    const failed = Number(/Failed packets:\s+(\d+)/.exec(out)?.[1] ?? 0);
    // Our copies' file: frames include every fragment; counted in copies, like our passes
    // (all sent: each copy; else pro rata).
    const sent = copies ? Math.round(((attempted - failed) / n) * copies) : attempted - failed;
    console.log(
      JSON.stringify({
        pass: name,
        attempted,
        failed,
        sent,
        ...(copies ? { sentCountedIn: "copies (attempted: frames, fragments included)" } : {}),
        seconds: +s.toFixed(3),
        processSeconds: +wall.toFixed(3),
        cpuSeconds: +cpuS.toFixed(2),
        sentPerSecond: Math.round(sent / s),
        sentPerCpuSecond: cpuS > 0 ? Math.round(sent / cpuS) : null,
        ...(got
          ? {
              receiverSocketGot: got.inDatagrams,
              receiverRead: got.read,
              droppedAtReceiverBuffer: got.rcvbufErrors,
            }
          : {}),
      }),
    );
    return cpuS > 0 ? { packets: sent, seconds: s, cpuSeconds: cpuS } : null;
  } catch (e) {
    console.log(JSON.stringify({ pass: name, skipped: (e as Error).message.split("\n")[0] }));
    return null;
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
