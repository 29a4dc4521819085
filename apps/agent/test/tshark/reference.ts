/**
 * tshark as the reference no one here wrote: per-flow packet, byte and retransmission figures
 * computed per packet (`-T fields`), never from `-z conv`, which rounds bytes at 10 000 and above
 * ("13 kB") and lists the outer conversation of a tunnel where our flows are keyed on the inner
 * headers.
 *
 * Innermost headers: tshark prints a field once per protocol layer that carries it, joined by
 * the aggregator (`,`), outermost first. `frame.protocols` gives the layer stack
 * (`eth:ethertype:ip:udp:vxlan:eth:ethertype:ip:tcp`), so we walk it to find which occurrence
 * of `ip.src` / `ipv6.src` / `udp.srcport` belongs to the innermost IP layer and its transport.
 * Rules, in order:
 * - the stack is cut at the first `icmp`/`icmpv6`: an ICMP error quotes the offending IP header
 *   and tshark dissects it as another `ip` layer, but the packet belongs to the ICMP flow;
 * - if an Ethernet layer follows the innermost IP layer (VXLAN/ERSPAN carrying ARP, CDP, ...),
 *   the innermost packet is not IP: counted in `nonIp`, no flow;
 * - a frame with no IP layer at all is counted in `nonIp`;
 * - the transport is the first tcp/udp/icmp/icmpv6/sctp layer after the innermost IP layer;
 *   without one (a non-first IP fragment), the flow has ports 0 and the IP protocol number.
 * A flow is (key, tshark stream): tshark starts a new tcp.stream when a port pair is reused
 * after a close, so two flows may share one key; `byKey` sums them when the caller wants that.
 */
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { z } from "zod";

export interface TsharkFlow {
  /** `proto|lowEndpoint|highEndpoint`, endpoints as `ip:port` sorted (see `flowKey`). */
  key: string;
  /** tshark's tcp.stream / udp.stream index; -1 for protocols tshark keeps no stream for. */
  stream: number;
  protocol: number;
  /** The sorted endpoints: `a` is the lower one. */
  a: { ip: string; port: number };
  b: { ip: string; port: number };
  /** Source of the first packet seen (tshark's idea of the initiator). */
  firstSrc: "a" | "b";
  packets: number;
  bytes: number;
  packetsAtoB: number;
  packetsBtoA: number;
  bytesAtoB: number;
  bytesBtoA: number;
  retransmissions: number;
  retransAtoB: number;
  retransBtoA: number;
}

export interface TsharkResult {
  file: string;
  tsharkVersion: string;
  frames: number;
  /** Frames whose innermost packet is not IP (ARP, CDP, LLDP, ...). */
  nonIp: number;
  /** tshark's complaint when it stopped early (a file cut short): figures cover what it read. */
  warning?: string;
  flows: TsharkFlow[];
}

export interface TsharkOptions {
  /** tshark `-d` arguments, e.g. `tcp.port==38888,http2`. */
  decodeAs?: string[];
  /** Skip the on-disk cache (default: cached per file hash + options + tshark version). */
  noCache?: boolean;
}

const FIELDS = [
  "frame.len",
  "frame.protocols",
  "ip.src",
  "ip.dst",
  "ip.proto",
  "ipv6.src",
  "ipv6.dst",
  "ipv6.nxt",
  "tcp.srcport",
  "tcp.dstport",
  "tcp.stream",
  "udp.srcport",
  "udp.dstport",
  "udp.stream",
  "tcp.analysis.retransmission",
] as const;
const COL = Object.fromEntries(FIELDS.map((f, i) => [f, i])) as Record<(typeof FIELDS)[number], number>;

const TRANSPORTS: Record<string, number> = { tcp: 6, udp: 17, icmp: 1, icmpv6: 58, sctp: 132 };

let cachedVersion: string | undefined;

/**
 * tshark's version line; throws when tshark is missing so that comparison tests fail loudly
 * instead of skipping (a skipped reference check proves nothing).
 */
export function tsharkAvailable(): string {
  if (cachedVersion) return cachedVersion;
  const r = spawnSync("tshark", ["--version"], { encoding: "utf8" });
  if (r.error || r.status !== 0) {
    throw new Error(
      `tshark is not available (${r.error?.message ?? `exit ${r.status}`}): run scripts/install-system.sh (Debian package tshark)`,
    );
  }
  cachedVersion = r.stdout.split("\n")[0]?.trim() ?? "tshark";
  return cachedVersion;
}

/** RFC 5952 text for IPv6 (what tshark prints), unchanged IPv4. */
export function canonicalIp(ip: string): string {
  if (!ip.includes(":")) return ip;
  return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
}

function endpoint(ip: string, port: number): string {
  return ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`;
}

function lessThan(ipA: string, portA: number, ipB: string, portB: number): boolean {
  if (ipA !== ipB) return ipA < ipB;
  return portA < portB;
}

/**
 * Direction-agnostic flow key from any row's endpoints: the same string whichever side is the
 * client, so the agent's rows (client/server) and tshark's (first source) compare directly.
 */
export function flowKey(protocol: number, ipA: string, portA: number, ipB: string, portB: number): string {
  const x = canonicalIp(ipA);
  const y = canonicalIp(ipB);
  return lessThan(x, portA, y, portB)
    ? `${protocol}|${endpoint(x, portA)}|${endpoint(y, portB)}`
    : `${protocol}|${endpoint(y, portB)}|${endpoint(x, portA)}`;
}

/** Sum flows sharing a key (port reuse after close); stream becomes the lowest one. */
export function byKey(flows: TsharkFlow[]): Map<string, TsharkFlow> {
  const out = new Map<string, TsharkFlow>();
  for (const f of flows) {
    const prev = out.get(f.key);
    if (!prev) {
      out.set(f.key, { ...f });
      continue;
    }
    prev.stream = Math.min(prev.stream, f.stream);
    for (const k of [
      "packets",
      "bytes",
      "packetsAtoB",
      "packetsBtoA",
      "bytesAtoB",
      "bytesBtoA",
      "retransmissions",
      "retransAtoB",
      "retransBtoA",
    ] as const) {
      prev[k] += f[k];
    }
  }
  return out;
}

async function fileHash(path: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest("hex");
}

const flowSchema = z.object({
  key: z.string(),
  stream: z.number(),
  protocol: z.number(),
  a: z.object({ ip: z.string(), port: z.number() }),
  b: z.object({ ip: z.string(), port: z.number() }),
  firstSrc: z.enum(["a", "b"]),
  packets: z.number(),
  bytes: z.number(),
  packetsAtoB: z.number(),
  packetsBtoA: z.number(),
  bytesAtoB: z.number(),
  bytesBtoA: z.number(),
  retransmissions: z.number(),
  retransAtoB: z.number(),
  retransBtoA: z.number(),
});
const resultSchema = z.object({
  file: z.string(),
  tsharkVersion: z.string(),
  frames: z.number(),
  nonIp: z.number(),
  warning: z.string().optional(),
  flows: z.array(flowSchema),
});

const CACHE_DIR = join(tmpdir(), "flowplane-tshark-cache");

/** Per-flow figures of a capture according to tshark (see the module comment for the rules). */
export async function tsharkFlows(pcapPath: string, opts: TsharkOptions = {}): Promise<TsharkResult> {
  const version = tsharkAvailable();
  if (!existsSync(pcapPath)) throw new Error(`capture not found: ${pcapPath}`);
  const decodeAs = opts.decodeAs ?? [];
  const cacheKey = createHash("sha256")
    .update(`${await fileHash(pcapPath)}\n${version}\n${decodeAs.join("\n")}\n${FIELDS.join(",")}\nv2`)
    .digest("hex");
  const cacheFile = join(CACHE_DIR, `${cacheKey}.json`);
  if (!opts.noCache && existsSync(cacheFile)) {
    const parsed = resultSchema.safeParse(JSON.parse(readFileSync(cacheFile, "utf8")));
    if (parsed.success) return { ...parsed.data, file: pcapPath };
  }
  const result = await runTshark(pcapPath, decodeAs, version);
  if (!opts.noCache) {
    mkdirSync(CACHE_DIR, { recursive: true });
    const tmp = `${cacheFile}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(result));
    renameSync(tmp, cacheFile);
  }
  return result;
}

interface Layers {
  ipFamily: "ip" | "ipv6";
  /** Index of the innermost IP layer among the layers of its family. */
  ipIndex: number;
  transport?: string;
  /** Index of the transport among the layers of its own name. */
  transportIndex: number;
}

/** Walk `frame.protocols` to find the innermost IP layer and its transport (see module comment). */
export function innermostLayers(protocols: string): Layers | undefined {
  const stack = protocols.split(":");
  const icmpAt = stack.findIndex((p) => p === "icmp" || p === "icmpv6");
  const layers = icmpAt >= 0 ? stack.slice(0, icmpAt + 1) : stack;
  let lastIp = -1;
  let ipIndex = -1;
  const counts: Record<string, number> = { ip: 0, ipv6: 0 };
  for (let i = 0; i < layers.length; i++) {
    const p = layers[i] as string;
    if (p === "ip" || p === "ipv6") {
      lastIp = i;
      ipIndex = counts[p] as number;
      counts[p] = (counts[p] as number) + 1;
    }
  }
  if (lastIp < 0) return undefined;
  const family = layers[lastIp] as "ip" | "ipv6";
  let transport: string | undefined;
  let transportAt = -1;
  for (let i = lastIp + 1; i < layers.length; i++) {
    const p = layers[i] as string;
    if (p === "eth") return undefined; // tunnel carrying a non-IP frame
    if (transport === undefined && p in TRANSPORTS) {
      transport = p;
      transportAt = i;
    }
  }
  let transportIndex = 0;
  if (transport !== undefined) {
    for (let i = 0; i < transportAt; i++) if (layers[i] === transport) transportIndex++;
  }
  return { ipFamily: family, ipIndex, transport, transportIndex };
}

function nth(field: string | undefined, index: number): string | undefined {
  if (!field) return undefined;
  const parts = field.split(",");
  return parts[index];
}

function runTshark(pcapPath: string, decodeAs: string[], version: string): Promise<TsharkResult> {
  const args = [
    "-n",
    "-r",
    pcapPath,
    "-T",
    "fields",
    "-E",
    "separator=/t",
    "-E",
    "occurrence=a",
    "-E",
    "aggregator=,",
  ];
  for (const d of decodeAs) args.push("-d", d);
  for (const f of FIELDS) args.push("-e", f);
  return new Promise((resolvePromise, reject) => {
    const child = spawn("tshark", args, { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const flows = new Map<string, TsharkFlow>();
    let frames = 0;
    let nonIp = 0;
    const rl = createInterface({ input: child.stdout });
    rl.on("line", (line) => {
      frames++;
      const c = line.split("\t");
      const layers = innermostLayers(c[COL["frame.protocols"]] ?? "");
      if (!layers) {
        nonIp++;
        return;
      }
      const len = Number(c[COL["frame.len"]]);
      const v4 = layers.ipFamily === "ip";
      const src = nth(c[v4 ? COL["ip.src"] : COL["ipv6.src"]], layers.ipIndex);
      const dst = nth(c[v4 ? COL["ip.dst"] : COL["ipv6.dst"]], layers.ipIndex);
      if (!src || !dst) {
        nonIp++;
        return;
      }
      let protocol: number;
      let sport = 0;
      let dport = 0;
      let stream = -1;
      let retrans = false;
      const t = layers.transport;
      if (t === "tcp" || t === "udp") {
        protocol = TRANSPORTS[t] as number;
        sport = Number(nth(c[COL[`${t}.srcport`]], layers.transportIndex) ?? 0);
        dport = Number(nth(c[COL[`${t}.dstport`]], layers.transportIndex) ?? 0);
        stream = Number(nth(c[COL[`${t}.stream`]], layers.transportIndex) ?? -1);
        // tshark analyses every TCP layer; only the innermost one's flag is ours, but a tunnel
        // over TCP is rare enough that any flag on a frame whose innermost transport is TCP counts.
        retrans = t === "tcp" && (c[COL["tcp.analysis.retransmission"]] ?? "") !== "";
      } else if (t !== undefined) {
        protocol = TRANSPORTS[t] as number;
      } else {
        const p = nth(c[v4 ? COL["ip.proto"] : COL["ipv6.nxt"]], layers.ipIndex);
        protocol = Number(p ?? 0);
      }
      const key = flowKey(protocol, src, sport, dst, dport);
      const id = `${key}#${stream}`;
      let f = flows.get(id);
      const srcIsA = key.startsWith(`${protocol}|${endpoint(canonicalIp(src), sport)}|`);
      if (!f) {
        const sEp = { ip: canonicalIp(src), port: sport };
        const dEp = { ip: canonicalIp(dst), port: dport };
        f = {
          key,
          stream,
          protocol,
          a: srcIsA ? sEp : dEp,
          b: srcIsA ? dEp : sEp,
          firstSrc: srcIsA ? "a" : "b",
          packets: 0,
          bytes: 0,
          packetsAtoB: 0,
          packetsBtoA: 0,
          bytesAtoB: 0,
          bytesBtoA: 0,
          retransmissions: 0,
          retransAtoB: 0,
          retransBtoA: 0,
        };
        flows.set(id, f);
      }
      f.packets++;
      f.bytes += len;
      // Same endpoint on both sides (a packet to itself) counts as a to b.
      if (srcIsA) {
        f.packetsAtoB++;
        f.bytesAtoB += len;
      } else {
        f.packetsBtoA++;
        f.bytesBtoA += len;
      }
      if (retrans) {
        f.retransmissions++;
        if (srcIsA) f.retransAtoB++;
        else f.retransBtoA++;
      }
    });
    child.on("error", reject);
    child.on("close", (code) => {
      const complaint = stderr
        .split("\n")
        .filter((l) => l.trim() !== "" && !l.startsWith("Running as user"))
        .join(" | ");
      if (code !== 0 && frames > 0) {
        resolvePromise({
          file: pcapPath,
          tsharkVersion: version,
          frames,
          nonIp,
          warning: complaint,
          flows: [...flows.values()],
        });
        return;
      }
      if (code !== 0) {
        reject(
          new Error(
            `tshark exited ${code} on ${pcapPath}: ${stderr.trim().split("\n").slice(-3).join(" | ")}`,
          ),
        );
        return;
      }
      resolvePromise({ file: pcapPath, tsharkVersion: version, frames, nonIp, flows: [...flows.values()] });
    });
  });
}
