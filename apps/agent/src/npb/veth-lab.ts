/**
 * Two network namespaces joined by a veth pair, for the packet broker's delivery bench and
 * tests: the sender runs in `tx` (10.78.0.1), the tool's receiver in `rx` (10.78.0.2), so copies
 * take a real egress path (route, next-hop MAC, driver) and the receiving kernel's counters
 * (/proc/net/snmp inside `rx`) belong to this run alone. Needs root and iproute2.
 */
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";

export interface VethLab {
  tx: string;
  rx: string;
  txDev: string;
  rxDev: string;
  txIp: string;
  rxIp: string;
  /** Runs argv inside a namespace: ["ip", "netns", "exec", ns, ...argv]. */
  exec(ns: string, argv: string[]): string[];
  close(): void;
}

function ip(args: string[]): string {
  const r = spawnSync("ip", args, { encoding: "utf8", timeout: 10_000 });
  if (r.status !== 0) throw new Error(`ip ${args.join(" ")}: ${(r.stderr || r.error?.message || "").trim()}`);
  return r.stdout;
}

/** Why the lab cannot be built here, or undefined. */
export function vethLabUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root (network namespaces and a veth pair)";
  if (spawnSync("ip", ["-V"]).status !== 0) return "iproute2 (ip) is missing";
  return undefined;
}

/**
 * `neighbour: false` leaves the tx side without an entry for rxIp (the first copies then take
 * the socket path, whose ARP fills it in). `mtu` (default 1500) for both ends: a copy is its
 * frame plus 40-50 bytes of headers, so full-size frames need a larger MTU to go out whole.
 * `rxCpus` (hex CPU mask): RPS on the rx end, so the receiving side's kernel work runs on those
 * CPUs, as on the tool's own host, instead of in the sender's softirq (veth delivers inline).
 */
export function createVethLab(o: { neighbour?: boolean; mtu?: number; rxCpus?: string } = {}): VethLab {
  const tag = `${process.pid.toString(36)}${randomBytes(2).toString("hex")}`;
  const lab: VethLab = {
    tx: `fpnpb-${tag}-tx`,
    rx: `fpnpb-${tag}-rx`,
    txDev: `fpt${tag}`.slice(0, 15),
    rxDev: `fpr${tag}`.slice(0, 15),
    txIp: "10.78.0.1",
    rxIp: "10.78.0.2",
    exec: (ns, argv) => ["ip", "netns", "exec", ns, ...argv],
    close: () => {
      for (const ns of [lab.tx, lab.rx]) spawnSync("ip", ["netns", "del", ns]);
    },
  };
  try {
    ip(["netns", "add", lab.tx]);
    ip(["netns", "add", lab.rx]);
    ip([
      "link",
      "add",
      lab.txDev,
      "netns",
      lab.tx,
      "type",
      "veth",
      "peer",
      "name",
      lab.rxDev,
      "netns",
      lab.rx,
    ]);
    for (const [ns, dev, addr] of [
      [lab.tx, lab.txDev, lab.txIp],
      [lab.rx, lab.rxDev, lab.rxIp],
    ] as const) {
      ip(["-n", ns, "addr", "add", `${addr}/24`, "dev", dev]);
      ip(["-n", ns, "link", "set", "lo", "up"]);
      ip(["-n", ns, "link", "set", dev, "mtu", String(o.mtu ?? 1500), "up"]);
    }
    if (o.rxCpus) {
      const f = `/sys/class/net/${lab.rxDev}/queues/rx-0/rps_cpus`;
      const r = spawnSync("ip", ["netns", "exec", lab.rx, "sh", "-c", `echo ${o.rxCpus} > ${f}`]);
      if (r.status !== 0) throw new Error(`RPS on ${lab.rxDev}: ${r.stderr.toString().trim()}`);
    }
    if (o.neighbour !== false) {
      const mac = (
        JSON.parse(ip(["-n", lab.rx, "-j", "link", "show", lab.rxDev])) as { address: string }[]
      )[0]!.address;
      ip(["-n", lab.tx, "neigh", "replace", lab.rxIp, "lladdr", mac, "dev", lab.txDev, "nud", "permanent"]);
    }
    return lab;
  } catch (e) {
    lab.close();
    throw e;
  }
}

/**
 * The tool's side: a process (python3 -c RECEIVER host port) that binds the destination and reads every datagram (64 MiB
 * receive buffer), with the receiving kernel's UDP counters before and after. In the veth lab
 * those counters belong to the rx namespace alone; on the host they include other traffic.
 */
export const RECEIVER = `
import json, socket, sys, threading
host, port = sys.argv[1], int(sys.argv[2])
def udp():
    rows = [l.split() for l in open("/proc/net/snmp") if l.startswith("Udp:")]
    return dict(zip(rows[0][1:], map(int, rows[1][1:])))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, 33, 64 << 20)  # SO_RCVBUFFORCE
s.bind((host, port))
before = udp()
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
print("ready", flush=True)
buf = bytearray(65536)
n = 0
s.settimeout(0.3)
while True:
    try:
        s.recv_into(buf)
        n += 1
    except socket.timeout:
        if stop.is_set():
            break
after = udp()
print(json.dumps({"read": n, "inDatagrams": after["InDatagrams"] - before["InDatagrams"],
                  "rcvbufErrors": after["RcvbufErrors"] - before["RcvbufErrors"]}), flush=True)
`;

export interface Received {
  read: number;
  inDatagrams: number;
  rcvbufErrors: number;
}

export async function startReceiver(argv: string[]): Promise<{ stop(): Promise<Received> }> {
  const p = spawn(argv[0]!, argv.slice(1), { stdio: ["pipe", "pipe", "inherit"] });
  let out = "";
  p.stdout.on("data", (d: Buffer) => {
    out += d.toString();
  });
  await new Promise<void>((r, j) => {
    const t = setInterval(() => {
      if (out.includes("ready")) {
        clearInterval(t);
        r();
      }
    }, 20);
    p.once("exit", (c) => {
      clearInterval(t);
      j(new Error(`receiver exited ${c}`));
    });
  });
  return {
    stop: async () => {
      const done = new Promise<void>((r) => p.once("exit", () => r()));
      p.stdin.end();
      await done;
      return JSON.parse(out.slice(out.indexOf("{"))) as Received;
    },
  };
}
