/**
 * A three-namespace NAT lab for tests that need the same TCP connection seen on both sides of a
 * real MASQUERADE hop:
 *
 *   client ns  10.77.1.2 ──veth── 10.77.1.1  router ns  10.77.2.1 ──veth── 10.77.2.2  server ns
 *                                             (forwarding, POSTROUTING -o <outer> MASQUERADE
 *                                              to ports 40000-49999)
 *
 * The client's own ephemeral ports are 20000-29999, so after the hop the server sees another
 * address and always another port. Names carry the test process's pid and a random suffix, so
 * parallel runs never collide; a lab whose pid is gone (a crashed run) is removed by the next
 * `createNatLab`. Needs root, iproute2, tcpdump and iptables (scripts/install-system.sh).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export interface PlannedCall {
  path: string;
  /** "new": its own TCP connection; "reuse": the keep-alive connection shared by "reuse" calls. */
  connection: "new" | "reuse";
  traceparent?: string;
}
export interface MadeCall extends PlannedCall {
  status: number;
  localPort: number;
}

export const LAB = {
  clientIp: "10.77.1.2",
  routerInnerIp: "10.77.1.1",
  routerOuterIp: "10.77.2.1",
  serverIp: "10.77.2.2",
  serverPort: 8080,
  clientPorts: [20000, 29999],
  natPorts: [40000, 49999],
} as const;

const NS_PREFIX = "fpnat-";
const HERE = dirname(fileURLToPath(import.meta.url));
const PEER = join(HERE, "http-peer.ts");

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 10_000 });
  if (r.error) throw new Error(`nat-lab: ${cmd} ${args.join(" ")}: ${r.error.message}`);
  if (r.status !== 0)
    throw new Error(`nat-lab: ${cmd} ${args.join(" ")} exited ${r.status}: ${(r.stderr || r.stdout).trim()}`);
  return r.stdout;
}
const ok = (cmd: string, args: string[]) =>
  spawnSync(cmd, args, { encoding: "utf8", timeout: 10_000 }).status === 0;

/**
 * Why this machine cannot build the lab, or undefined when it can. Checked up front so a test
 * can fail with the reason instead of a half-built lab's error.
 */
export function natLabUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root (network namespaces, veth pairs and iptables)";
  for (const [bin, pkg] of [
    ["ip", "iproute2"],
    ["tcpdump", "tcpdump"],
  ] as const)
    if (!ok("sh", ["-c", `command -v ${bin}`])) return `${bin} is missing (Debian package ${pkg})`;
  if (!iptablesVariants().length)
    return "iptables is missing: run scripts/install-system.sh (Debian package iptables)";
  const probe = `${NS_PREFIX}probe-${process.pid}-${randomBytes(2).toString("hex")}`;
  const made = spawnSync("ip", ["netns", "add", probe], { encoding: "utf8" });
  if (made.status !== 0) return `cannot create a network namespace: ${made.stderr.trim()}`;
  spawnSync("ip", ["netns", "del", probe]);
  return undefined;
}

function iptablesVariants(): string[] {
  return ["iptables-nft", "iptables-legacy", "iptables"].filter((b) => ok("sh", ["-c", `command -v ${b}`]));
}

/** Deletes labs left by runs whose process is gone (and stops anything still running in them). */
export function removeLeftoverLabs(): string[] {
  const removed: string[] = [];
  for (const line of run("ip", ["netns", "list"]).split("\n")) {
    const name = line.split(" ")[0] ?? "";
    const m = new RegExp(`^${NS_PREFIX}(?:probe-)?(\\d+)-`).exec(name);
    if (!m || pidAlive(Number(m[1]))) continue;
    deleteNamespace(name);
    removed.push(name);
  }
  return removed;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function deleteNamespace(name: string): void {
  // Deleting a namespace does not stop its processes; its veths and iptables rules go with it.
  const pids = spawnSync("ip", ["netns", "pids", name], { encoding: "utf8" }).stdout ?? "";
  for (const pid of pids.split("\n").filter(Boolean)) {
    try {
      process.kill(Number(pid), "SIGKILL");
    } catch {
      // already gone
    }
  }
  spawnSync("ip", ["netns", "del", name]);
}

export interface Capture {
  file: string;
  /** Stops tcpdump (it flushes on SIGINT) and returns the packet count it reports. */
  stop(): Promise<number>;
  /** Packets the kernel dropped, as tcpdump reported at stop (0 before). */
  dropped: number;
}

export interface NatLab {
  ns: { client: string; router: string; server: string };
  /** The client's and the server's veth, where the two captures listen. */
  ifaces: { client: string; server: string };
  /** The iptables binary that installed the MASQUERADE rule. */
  iptables: string;
  capture(side: "client" | "server", file: string): Promise<Capture>;
  startServer(): Promise<void>;
  runClient(plan: PlannedCall[]): Promise<MadeCall[]>;
  close(): void;
}

export async function createNatLab(): Promise<NatLab> {
  removeLeftoverLabs();
  const id = `${process.pid}-${randomBytes(2).toString("hex")}`;
  // Interface names are at most 15 bytes: a base-36 pid plus the random suffix.
  const short = `${process.pid.toString(36)}${id.slice(-4)}`;
  const ns = { client: `${NS_PREFIX}${id}-c`, router: `${NS_PREFIX}${id}-r`, server: `${NS_PREFIX}${id}-s` };
  const ifaces = {
    client: `fc${short}`,
    routerIn: `fi${short}`,
    routerOut: `fo${short}`,
    server: `fs${short}`,
  };
  const children = new Set<ChildProcess>();
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    for (const n of Object.values(ns)) deleteNamespace(n);
    process.removeListener("exit", close);
  };
  process.once("exit", close);
  const inNs = (n: string, args: string[]) => run("ip", ["netns", "exec", n, ...args]);
  let iptables = "";
  try {
    for (const n of Object.values(ns)) {
      run("ip", ["netns", "add", n]);
      run("ip", ["-n", n, "link", "set", "lo", "up"]);
    }
    run("ip", [
      "link",
      "add",
      ifaces.client,
      "netns",
      ns.client,
      "type",
      "veth",
      "peer",
      "name",
      ifaces.routerIn,
      "netns",
      ns.router,
    ]);
    run("ip", [
      "link",
      "add",
      ifaces.routerOut,
      "netns",
      ns.router,
      "type",
      "veth",
      "peer",
      "name",
      ifaces.server,
      "netns",
      ns.server,
    ]);
    const addr = (n: string, dev: string, cidr: string) => {
      run("ip", ["-n", n, "addr", "add", cidr, "dev", dev]);
      run("ip", ["-n", n, "link", "set", dev, "up"]);
    };
    addr(ns.client, ifaces.client, `${LAB.clientIp}/24`);
    addr(ns.router, ifaces.routerIn, `${LAB.routerInnerIp}/24`);
    addr(ns.router, ifaces.routerOut, `${LAB.routerOuterIp}/24`);
    addr(ns.server, ifaces.server, `${LAB.serverIp}/24`);
    run("ip", ["-n", ns.client, "route", "add", "default", "via", LAB.routerInnerIp]);
    // The server has no route back to the client's subnet: only the NATed address can answer.
    inNs(ns.client, [
      "sysctl",
      "-qw",
      `net.ipv4.ip_local_port_range=${LAB.clientPorts[0]} ${LAB.clientPorts[1]}`,
    ]);
    inNs(ns.router, ["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
    // nft first (the Debian default); legacy where the kernel lacks nf_tables.
    const rule = ["-t", "nat", "-A", "POSTROUTING", "-o", ifaces.routerOut, "-p", "tcp", "-j", "MASQUERADE"];
    const errors: string[] = [];
    for (const bin of iptablesVariants()) {
      try {
        inNs(ns.router, [bin, ...rule, "--to-ports", `${LAB.natPorts[0]}-${LAB.natPorts[1]}`]);
        iptables = bin;
        break;
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
    if (!iptables)
      throw new Error(`nat-lab: no iptables variant could add the MASQUERADE rule:\n${errors.join("\n")}`);
  } catch (err) {
    close();
    throw err;
  }

  const spawnIn = (n: string, args: string[]) => {
    const child = spawn("ip", ["netns", "exec", n, ...args], { cwd: join(HERE, "../.."), stdio: "pipe" });
    children.add(child);
    child.once("exit", () => children.delete(child));
    return child;
  };
  const waitFor = (child: ChildProcess, stream: "stdout" | "stderr", re: RegExp, what: string) =>
    new Promise<void>((resolve, reject) => {
      let out = "";
      let err = "";
      const timer = setTimeout(
        () => reject(new Error(`nat-lab: ${what} not ready within 15 s: ${err.trim()}`)),
        15_000,
      );
      child.stderr?.on("data", (d: Buffer) => {
        err += d.toString();
      });
      child[stream]?.on("data", (d: Buffer) => {
        out += d.toString();
        if (re.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`nat-lab: ${what} exited ${code}: ${err.trim()}`));
      });
    });

  return {
    ns,
    ifaces: { client: ifaces.client, server: ifaces.server },
    iptables,
    async capture(side, file) {
      const n = side === "client" ? ns.client : ns.server;
      const dev = side === "client" ? ifaces.client : ifaces.server;
      // --immediate-mode: without it libpcap hands packets over in ring blocks retired every
      // second, and SIGINT drops the block still open (a first run captured 0 packets of 62).
      // -U: each packet written at once; -Z root: write where root can. -B 16384 (KiB): room for a
      // CI run on 2 busy cores (the default is 2 MiB); the drop count is kept (`dropped`).
      const child = spawnIn(n, [
        "tcpdump",
        "-i",
        dev,
        "-B",
        "16384",
        "--immediate-mode",
        "-U",
        "-Z",
        "root",
        "-w",
        file,
        "tcp",
      ]);
      let stderr = "";
      child.stderr?.on("data", (d: Buffer) => {
        stderr += d.toString();
      });
      await waitFor(child, "stderr", /listening on/, `tcpdump on ${side} side`);
      const cap: Capture = {
        file,
        dropped: 0,
        stop: () =>
          new Promise<number>((resolve, reject) => {
            child.once("exit", () => {
              const m = /(\d+) packets? captured/.exec(stderr);
              cap.dropped = Number(/(\d+) packets? dropped by kernel/.exec(stderr)?.[1] ?? 0);
              if (m) resolve(Number(m[1]));
              else
                reject(new Error(`nat-lab: tcpdump on ${side} side ended without a count: ${stderr.trim()}`));
            });
            child.kill("SIGINT");
          }),
      };
      return cap;
    },
    async startServer() {
      const child = spawnIn(ns.server, [
        process.execPath,
        "--import",
        "tsx",
        PEER,
        "server",
        LAB.serverIp,
        String(LAB.serverPort),
      ]);
      await waitFor(child, "stdout", /^ready/m, "HTTP server");
    },
    async runClient(plan) {
      const child = spawnIn(ns.client, [
        process.execPath,
        "--import",
        "tsx",
        PEER,
        "client",
        `http://${LAB.serverIp}:${LAB.serverPort}`,
        JSON.stringify(plan),
      ]);
      let out = "";
      let err = "";
      child.stdout?.on("data", (d: Buffer) => {
        out += d.toString();
      });
      child.stderr?.on("data", (d: Buffer) => {
        err += d.toString();
      });
      const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
      if (code !== 0) throw new Error(`nat-lab: HTTP client exited ${code}: ${err.trim()}`);
      return JSON.parse(out) as MadeCall[];
    },
    close,
  };
}
