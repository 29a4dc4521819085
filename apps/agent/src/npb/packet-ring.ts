/**
 * Delivery through a packet socket (AF_PACKET TX ring, native/packet-ring.c): the broker's copy
 * already is a complete IPv4 datagram (outer header, checksum computed), so with an Ethernet
 * header in front it can go straight to the egress driver, skipping the UDP socket's per-datagram
 * route lookup, IP output and socket accounting, and one send(2) flushes every frame queued in
 * the ring. Needs CAP_NET_RAW, the egress interface and the next hop's MAC: resolved per
 * destination with `ip -j route get` and /proc/net/arp (refreshed every few seconds by the
 * sender); a destination without them uses the UDP/raw sockets (sender.ts).
 */
import { execFile, execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { buildAddon } from "@flowplane/core/native-addon";
import { ipv4ToInt } from "./encap.ts";
import { fragmentCount, writeFragment } from "./fragment.ts";

interface RingAddon {
  open(
    ifindex: number,
    frameSize: number,
    frameCount: number,
    vnet: number,
  ): { fd: number; ring: ArrayBuffer; frames: number } | number;
  flush(fd: number): number;
  close(fd: number): number;
}

let cached: RingAddon | string | undefined;

/** The addon, or why it is unavailable. */
export function loadPacketRing(): RingAddon | string {
  cached ??= buildAddon<RingAddon>({
    name: "packet-ring",
    source: new URL("./native/packet-ring.c", import.meta.url),
  });
  return cached;
}

/** Where a copy to one destination leaves: interface, Ethernet header, outer source address. */
export interface Route {
  dev: string;
  ifindex: number;
  /** Destination MAC (next hop), source MAC (the interface's), EtherType IPv4. */
  eth: Uint8Array;
  /** The route's preferred source (int32): written into the copy's outer IPv4 header. */
  src: number;
  mtu: number;
}

const sys = (dev: string, f: string) => readFileSync(`/sys/class/net/${dev}/${f}`, "utf8").trim();

function macBytes(mac: string, into: Uint8Array, at: number): void {
  const p = mac.split(":");
  for (let i = 0; i < 6; i++) into[at + i] = Number.parseInt(p[i] ?? "0", 16);
}

/** IPv4 neighbour table (/proc/net/arp): "ip dev" → MAC, complete entries only. */
export function readArp(): Map<string, string> {
  const out = new Map<string, string>();
  let text = "";
  try {
    text = readFileSync("/proc/net/arp", "utf8");
  } catch {
    return out;
  }
  for (const line of text.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 6) continue;
    // Flags: 0x2 complete (ATF_COM); incomplete entries have a zero MAC.
    if ((Number.parseInt(f[2]!, 16) & 2) === 0) continue;
    out.set(`${f[0]} ${f[5]}`, f[3]!);
  }
  return out;
}

/** `ip -j route get` output → Route, or why this destination cannot use the packet socket. */
export function routeFromIp(json: string, arp: Map<string, string>): Route | string {
  const r = (
    JSON.parse(json) as { dst: string; gateway?: string; dev: string; prefsrc?: string; type?: string }[]
  )[0];
  if (!r?.dev || !r.prefsrc) return "no route with a source address";
  // The kernel takes an injected frame from a local source to a local address for a martian
  // (and 127/8 needs route_localnet): local tools get their copies through the socket.
  if (r.type === "local") return "local destination: sockets (loopback)";
  const type = Number(sys(r.dev, "type"));
  const eth = new Uint8Array(14);
  if (type === 772) {
    // Loopback: frames carry an all-zero Ethernet header (lo's own address).
  } else if (type === 1) {
    const hop = r.gateway ?? r.dst;
    const mac = arp.get(`${hop} ${r.dev}`);
    if (!mac) return `no neighbour entry for ${hop} on ${r.dev} yet`;
    macBytes(mac, eth, 0);
    macBytes(sys(r.dev, "address"), eth, 6);
  } else return `${r.dev} is not Ethernet (ARPHRD ${type})`;
  eth[12] = 0x08;
  return {
    dev: r.dev,
    ifindex: Number(sys(r.dev, "ifindex")),
    eth,
    src: ipv4ToInt(r.prefsrc),
    mtu: Number(sys(r.dev, "mtu")),
  };
}

/** Resolves now (first copy to a destination). */
export function resolveRoute(address: string): Route | string {
  try {
    const json = execFileSync("ip", ["-j", "route", "get", address], { encoding: "utf8", stdio: "pipe" });
    return routeFromIp(json, readArp());
  } catch (e) {
    return `route to ${address}: ${(e as Error).message.split("\n")[0]}`;
  }
}

/** Resolves in the background (periodic refresh: a changed route or next-hop MAC). */
export function resolveRouteLater(address: string, done: (r: Route | string) => void): void {
  execFile("ip", ["-j", "route", "get", address], { encoding: "utf8" }, (err, out) => {
    if (err) return done(`route to ${address}: ${err.message.split("\n")[0]}`);
    try {
      done(routeFromIp(out, readArp()));
    } catch (e) {
      done((e as Error).message);
    }
  });
}

/**
 * What one flush did: copies sent (a fragmented copy counts once, when its first fragment
 * leaves), frames sent (fragments each), their bytes (IPv4 datagrams), whether send(2) failed
 * and why, and copies given up (`dropped`) because the error does not pass (interface gone or
 * down).
 */
export interface FlushResult {
  sent: number;
  frames: number;
  bytes: number;
  failed: number;
  errno: number;
  dropped: number;
}

/** send(2) errors after which the queued frames go out on a later flush: the rest never do. */
const EAGAIN = 11;
const ENOBUFS = 105;

const FRAME = 2048;
const DATA = 32; // TPACKET2_HDRLEN - sizeof(struct sockaddr_ll): where a TX frame's bytes start
const SEND_REQUEST = 1;
const VNET_HDR = 10;
/** FLOWPLANE_NPB_RING_VNET=0 attaches ring pages instead of copying (for A/B runs). */
const RING_VNET = process.env.FLOWPLANE_NPB_RING_VNET !== "0";
const bufferCopy = Buffer.prototype.copy;

/** One TX ring on one interface. Frames are written in slot order, which is the kernel's order. */
export class PacketRing {
  readonly frames: number;
  /** Largest Ethernet frame a slot (and the interface MTU) takes. */
  readonly maxFrame: number;
  private readonly bytes: Uint8Array;
  private readonly words: Uint32Array;
  private head = 0; // next slot to write
  private tail = 0; // oldest slot written and not yet seen leave SEND_REQUEST
  /** Frames written and not yet confirmed handled by the kernel. */
  outstanding = 0;
  /** Frames written since the last flush. */
  unflushed = 0;
  /** Bytes before the Ethernet header in a slot's data: 10 with a virtio_net_hdr. */
  private readonly pre: number;
  /** Per slot, a view where its IPv4 datagram goes (copies are built there: `slot`/`commit`). */
  private readonly views: Uint8Array[];
  /** Per slot, 1 when it holds a fragment after a copy's first (not a copy of its own). */
  private readonly cont: Uint8Array;

  constructor(
    private readonly addon: RingAddon,
    readonly fd: number,
    ring: ArrayBuffer,
    frames: number,
    mtu: number,
    vnet: boolean,
  ) {
    this.frames = frames;
    this.bytes = new Uint8Array(ring);
    this.words = new Uint32Array(ring);
    this.pre = vnet ? VNET_HDR : 0;
    this.maxFrame = Math.min(FRAME - DATA - this.pre, mtu + 14);
    this.cont = new Uint8Array(frames);
    this.views = [];
    for (let i = 0; i < frames; i++)
      this.views.push(new Uint8Array(ring, i * FRAME + DATA + this.pre + 14, this.maxFrame - 14));
  }

  /** Where the next frame's IPv4 datagram goes, or null while that slot is still in use. */
  slot(): Uint8Array | null {
    return this.words[(this.head * FRAME) >>> 2] === 0 ? this.views[this.head]! : null;
  }

  /** Sends the datagram of `len` bytes built in `slot()`'s view. */
  commit(eth: Uint8Array, len: number, src: number): void {
    this.cont[this.head] = 0;
    this.finish(eth, len, src);
  }

  /**
   * `vnet` (default on): each frame carries a virtio_net_hdr asking the kernel to copy the whole
   * frame into the skb instead of attaching the ring's page (see native/packet-ring.c).
   */
  static open(
    addon: RingAddon,
    ifindex: number,
    mtu: number,
    frames = 4096,
    vnet = RING_VNET,
  ): PacketRing | number {
    let r = addon.open(ifindex, FRAME, frames, vnet ? 1 : 0);
    if (typeof r === "number" && vnet) {
      vnet = false; // a kernel without PACKET_VNET_HDR on TX rings
      r = addon.open(ifindex, FRAME, frames, 0);
    }
    if (typeof r === "number") return r;
    return new PacketRing(addon, r.fd, r.ring, r.frames, mtu, vnet);
  }

  /**
   * Writes Ethernet header + the IPv4 datagram packet[0, len) into the next slot, with the
   * outer source rewritten to `src` when it differs. False when the slot is still in use.
   */
  write(eth: Uint8Array, packet: Uint8Array, len: number, src: number): boolean {
    const slot = this.head;
    if (this.words[(slot * FRAME) >>> 2] !== 0) return false; // TP_STATUS_AVAILABLE is 0
    const b = this.bytes;
    const ip = slot * FRAME + DATA + this.pre + 14;
    if (len < 128) for (let i = 0; i < len; i++) b[ip + i] = packet[i]!;
    else bufferCopy.call(packet, b, ip, 0, len);
    this.cont[slot] = 0;
    this.finish(eth, len, src);
    return true;
  }

  /**
   * Writes the datagram packet[0, len), bigger than `mtu`, as IPv4 fragments of at most `mtu`
   * bytes (fragment.ts) into consecutive slots. Returns the fragments written, 0 when there are
   * not enough free slots for all of them (nothing written) or the datagram cannot be cut.
   */
  writeFragments(eth: Uint8Array, packet: Uint8Array, len: number, src: number, mtu: number): number {
    const m = Math.min(mtu, this.maxFrame - 14);
    const k = fragmentCount(packet, len, m);
    if (k === 0 || k > this.frames) return 0;
    const w = this.words;
    for (let i = 0, s = this.head; i < k; i++, s = s + 1 === this.frames ? 0 : s + 1)
      if (w[(s * FRAME) >>> 2] !== 0) return 0;
    const b = this.bytes;
    for (let i = 0; i < k; i++) {
      const slot = this.head;
      const n = writeFragment(packet, len, m, i, b, slot * FRAME + DATA + this.pre + 14);
      this.cont[slot] = i === 0 ? 0 : 1;
      this.finish(eth, n, src);
    }
    return k;
  }

  /** Virtio header, Ethernet header, source rewrite, length and status of the head slot. */
  private finish(eth: Uint8Array, len: number, src: number): void {
    const slot = this.head;
    const b = this.bytes;
    let at = slot * FRAME + DATA;
    if (this.pre !== 0) {
      // virtio_net_hdr: flags 0, gso_type NONE, hdr_len = the whole frame (little-endian), rest 0.
      // Byte stores: a fill() call per frame cost more than the ten stores.
      const n = len + 14;
      b[at] = 0;
      b[at + 1] = 0;
      b[at + 2] = n & 255;
      b[at + 3] = n >>> 8;
      b[at + 4] = 0;
      b[at + 5] = 0;
      b[at + 6] = 0;
      b[at + 7] = 0;
      b[at + 8] = 0;
      b[at + 9] = 0;
      at += VNET_HDR;
    }
    for (let i = 0; i < 14; i++) b[at + i] = eth[i]!;
    const ip = at + 14;
    const s0 = src >>> 24;
    const s1 = (src >>> 16) & 255;
    const s2 = (src >>> 8) & 255;
    const s3 = src & 255;
    if (b[ip + 12] !== s0 || b[ip + 13] !== s1 || b[ip + 14] !== s2 || b[ip + 15] !== s3) {
      // Incremental update (RFC 1624, eqn. 3): HC' = ~(~HC + ~m + m') over the two changed words.
      let sum = ~((b[ip + 10]! << 8) | b[ip + 11]!) & 0xffff;
      sum += (~((b[ip + 12]! << 8) | b[ip + 13]!) & 0xffff) + ((s0 << 8) | s1);
      sum += (~((b[ip + 14]! << 8) | b[ip + 15]!) & 0xffff) + ((s2 << 8) | s3);
      sum = (sum & 0xffff) + (sum >>> 16);
      sum = (sum & 0xffff) + (sum >>> 16);
      const c = ~sum & 0xffff;
      b[ip + 10] = c >>> 8;
      b[ip + 11] = c & 255;
      b[ip + 12] = s0;
      b[ip + 13] = s1;
      b[ip + 14] = s2;
      b[ip + 15] = s3;
    }
    const w = (slot * FRAME) >>> 2;
    this.words[w + 1] = this.pre + 14 + len; // tp_len
    this.words[w] = SEND_REQUEST; // last: the kernel takes the frame from here on
    this.head = slot + 1 === this.frames ? 0 : slot + 1;
    this.outstanding++;
    this.unflushed++;
  }

  /**
   * One send(2) for every frame queued. `frames`: frames the kernel took off the ring (handed to
   * the driver; a frame the driver then drops, like a datagram lost on the wire, is not seen
   * here: the receiver's counters tell). A send that fails with EAGAIN or ENOBUFS (send buffer
   * full of frames in flight) leaves the remaining frames queued for the next flush; any other
   * error gives them up (`dropped`); `errno` says why.
   */
  flush(out: FlushResult): void {
    out.sent = out.frames = out.bytes = out.failed = out.errno = out.dropped = 0;
    if (this.outstanding === 0) return;
    const r = this.addon.flush(this.fd);
    this.unflushed = 0;
    let done = 0;
    let copies = 0;
    let bytes = 0;
    const w = this.words;
    while (this.outstanding > 0 && w[(this.tail * FRAME) >>> 2] !== SEND_REQUEST) {
      bytes += w[((this.tail * FRAME) >>> 2) + 1]! - 14 - this.pre;
      copies += 1 - this.cont[this.tail]!;
      this.tail = this.tail + 1 === this.frames ? 0 : this.tail + 1;
      this.outstanding--;
      done++;
    }
    if (r < 0) {
      out.errno = -r;
      out.failed = 1;
      // The kernel refused before taking a frame (ENXIO: interface gone, ENETDOWN: down): left
      // queued they would be retried on every turn for ever, the sender never idle. Only this
      // thread and a send(2) read SEND_REQUEST frames, so they can be taken back here.
      if (r !== -EAGAIN && r !== -ENOBUFS) {
        while (this.outstanding > 0 && w[(this.tail * FRAME) >>> 2] === SEND_REQUEST) {
          w[(this.tail * FRAME) >>> 2] = 0;
          out.dropped += 1 - this.cont[this.tail]!;
          this.tail = this.tail + 1 === this.frames ? 0 : this.tail + 1;
          this.outstanding--;
        }
      }
    }
    out.sent = copies;
    out.frames = done;
    out.bytes = bytes;
  }

  close(): void {
    this.addon.close(this.fd);
  }
}
