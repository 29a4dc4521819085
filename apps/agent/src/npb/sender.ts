/**
 * Delivers the broker's copies. VXLAN goes over a UDP socket (the VXLAN header onward is the
 * UDP payload; the kernel writes the outer IPv4/UDP headers). GRE and ERSPAN need IP protocol
 * 47: with root and the optional `raw-socket` addon a raw socket sends the GRE header onward
 * (the kernel writes the outer IPv4 header); otherwise, or when `gre: "udp"`, they are sent as
 * GRE-in-UDP (RFC 8086, UDP port 4754): the same GRE header and payload as the UDP payload,
 * which Wireshark and most tools decode, and which needs no privileges.
 *
 * Copies are written into a preallocated ring (the broker reuses its output buffer for the
 * next packet at once) and sent in batches: with the sendmmsg addon (fast-send.ts, compiled on
 * first use; `syscall: "auto"`) one syscall per batch of up to 1024 copies, from a UDP socket
 * and, as root, a raw GRE socket of its own; without it through Node's dgram (and raw-socket),
 * one call per copy from setImmediate. When the ring is full of unsent copies they are dropped
 * and counted.
 *
 * As root (`packetSocket: "auto"`), copies to a destination whose egress interface and next-hop
 * MAC are known go instead as complete Ethernet frames through an AF_PACKET TX ring
 * (packet-ring.ts): written straight into the kernel's ring, one send(2) per batch, no UDP
 * socket. Copies bigger than the egress MTU are cut into IPv4 fragments there (fragment.ts);
 * copies over a 2 KiB slot but under a jumbo MTU, and destinations without a route or
 * neighbour entry, keep the socket path; switching paths flushes the other first, so copies
 * stay in order.
 */
import { createSocket, type Socket } from "node:dgram";
import { createRequire } from "node:module";
import type { Destination } from "./broker.ts";
import { EncapKind, OUTER_IPV4, UDP_HEADER } from "./encap.ts";
import { loadSendmmsg, type SendmmsgAddon } from "./fast-send.ts";
import {
  type FlushResult,
  loadPacketRing,
  PacketRing,
  type Route,
  resolveRoute,
  resolveRouteLater,
} from "./packet-ring.ts";

export interface SenderOptions {
  /** "auto": raw socket when available, else GRE-in-UDP; "raw": fail if unavailable; "udp": always GRE-in-UDP. */
  gre?: "auto" | "raw" | "udp";
  /** Ring size in bytes for copies waiting to be sent. */
  ringBytes?: number;
  /** Copies per batch (syscall batch with sendmmsg, per event-loop turn with dgram). */
  batch?: number;
  /** "auto": sendmmsg addon when it builds, else dgram; "sendmmsg": fail if unavailable. */
  syscall?: "auto" | "sendmmsg" | "dgram";
  /**
   * "auto": as root, complete frames through an AF_PACKET TX ring for destinations with a known
   * route and neighbour (else the sockets); "off": sockets only; "require": fail when the
   * packet socket cannot be opened (the per-destination fallback still applies).
   */
  packetSocket?: "auto" | "off" | "require";
}

/** Per destination address: the packet-socket route, or why it uses the sockets. */
interface RouteEntry {
  address: string;
  route: Route | null;
  ring: PacketRing | null;
  reason: string | null;
}

export interface SenderStats {
  queued: number;
  sent: number;
  bytes: number;
  dropped: number;
  errors: number;
  greTransport: "raw" | "udp";
  syscall: "sendmmsg" | "dgram";
  /** Batches handed to sendmmsg (sent / batches = mean batch size). */
  batches: number;
  /** Of `sent`, copies that left through the packet socket's TX ring. */
  packetRing: number;
  /** Frames the TX ring sent: its copies, plus the further fragments of copies over the MTU. */
  ringFrames: number;
  /** Of `packetRing`, copies bigger than the egress MTU, sent as IPv4 fragments from the ring. */
  ringFragmented: number;
  /** send(2) calls that flushed the TX rings (ringFrames / ringFlushes = mean batch). */
  ringFlushes: number;
  /** Flushes the kernel cut short (EAGAIN: its send buffer full of frames in flight); retried. */
  ringStalls: number;
  /** errno of the last stall (11 EAGAIN, 105 ENOBUFS). */
  ringLastErrno: number;
  /** Copies that found every ring slot in flight and went through the sockets instead. */
  ringOverflows: number;
}

interface RawSocket {
  send(buf: Buffer, off: number, len: number, addr: string, before: null, after: (err?: Error) => void): void;
  close(): void;
  on(ev: "error", f: (e: Error) => void): void;
}

const RAW_UNAVAILABLE =
  "GRE/ERSPAN raw delivery unavailable: needs root and the optional raw-socket package (npm install -w apps/agent raw-socket@1.8.1); falling back to GRE-in-UDP (port 4754)";

/** Loads raw-socket lazily; returns the reason as a string when it cannot be used. */
export function openRawGreSocket(): RawSocket | string {
  try {
    const require = createRequire(import.meta.url);
    const raw = require("raw-socket") as { createSocket(o: { protocol: number }): RawSocket };
    return raw.createSocket({ protocol: 47 });
  } catch (e) {
    return `${RAW_UNAVAILABLE} (${(e as Error).message.split("\n")[0]})`;
  }
}

const ROUTE_REFRESH_MS = 5000;

export class PacketSender {
  private readonly udp: Socket;
  private readonly raw: RawSocket | null;
  rawUnavailableReason: string | null = null;
  private readonly ring: Buffer;
  private head = 0; // next write position
  private pendingBytes = 0; // bytes written but not yet completed (incl. wrap waste)
  private readonly qOff: Int32Array;
  private readonly qLen: Int32Array;
  private readonly qWaste: Int32Array;
  private readonly qDest: (Destination | null)[];
  private readonly qAddr: Int32Array;
  private readonly qPort: Int32Array;
  private readonly qRaw: Uint8Array;
  private readonly mm: SendmmsgAddon | null = null;
  private mmUdp = -1;
  private mmRaw = -1;
  readonly sendmmsgUnavailableReason: string | null = null;
  /** Why no copy goes through the packet socket (null when it is in use or was not asked for). */
  packetSocketUnavailableReason: string | null = null;
  private ringAddon: ReturnType<typeof loadPacketRing> | null = null;
  private readonly routes = new Map<number, RouteEntry>();
  private readonly rings = new Map<number, PacketRing>();
  private lastDest: Destination | null = null;
  private lastEntry: RouteEntry | null = null;
  private ringsUnflushed = false;
  private refreshAt = 0;
  private readonly flushed: FlushResult = { sent: 0, frames: 0, bytes: 0, failed: 0, errno: 0, dropped: 0 };
  private qHead = 0;
  private qCount = 0;
  private scheduled = false;
  private readonly batch: number;
  private idleWaiters: (() => void)[] = [];
  private inFlight = 0;
  readonly counts: SenderStats;

  constructor(o: SenderOptions = {}) {
    this.udp = createSocket("udp4");
    this.udp.on("error", () => this.counts.errors++);
    this.ring = Buffer.allocUnsafe(o.ringBytes ?? 8 << 20);
    this.batch = o.batch ?? 256;
    const slots = 65536;
    this.qOff = new Int32Array(slots);
    this.qLen = new Int32Array(slots);
    this.qWaste = new Int32Array(slots);
    this.qDest = new Array(slots).fill(null);
    this.qAddr = new Int32Array(slots);
    this.qPort = new Int32Array(slots);
    this.qRaw = new Uint8Array(slots);
    const mode = o.gre ?? "auto";
    const sys = o.syscall ?? "auto";
    if (sys !== "dgram") {
      const mm = loadSendmmsg();
      if (typeof mm === "string") {
        if (sys === "sendmmsg") throw new Error(mm);
        this.sendmmsgUnavailableReason = mm;
      } else {
        this.mmUdp = mm.open(0);
        if (this.mmUdp < 0) throw new Error(`sendmmsg addon: UDP socket failed (errno ${-this.mmUdp})`);
        if (mode !== "udp") {
          this.mmRaw = mm.open(1);
          if (this.mmRaw < 0 && mode === "raw")
            throw new Error(`${RAW_UNAVAILABLE} (raw socket errno ${-this.mmRaw})`);
          if (this.mmRaw < 0)
            this.rawUnavailableReason = `${RAW_UNAVAILABLE} (raw socket errno ${-this.mmRaw})`;
        }
        this.mm = mm;
      }
    }
    let raw: RawSocket | null = null;
    if (mode !== "udp" && this.mm === null) {
      const r = openRawGreSocket();
      if (typeof r === "string") {
        if (mode === "raw") throw new Error(r);
        this.rawUnavailableReason = r;
      } else {
        raw = r;
        raw.on("error", () => this.counts.errors++);
      }
    }
    this.raw = raw;
    const ps = o.packetSocket ?? "auto";
    if (ps !== "off") this.openPacketSocket(ps === "require");
    this.counts = {
      queued: 0,
      sent: 0,
      bytes: 0,
      dropped: 0,
      errors: 0,
      greTransport: raw !== null || this.mmRaw >= 0 ? "raw" : "udp",
      syscall: this.mm ? "sendmmsg" : "dgram",
      batches: 0,
      packetRing: 0,
      ringFrames: 0,
      ringFragmented: 0,
      ringFlushes: 0,
      ringStalls: 0,
      ringLastErrno: 0,
      ringOverflows: 0,
    };
  }

  /** Loads the ring addon and checks a packet socket can be opened (CAP_NET_RAW) on lo. */
  private openPacketSocket(require: boolean): void {
    let why: string | null = null;
    if (process.getuid?.() !== 0 && !require) why = "packet socket: not root";
    else {
      const addon = loadPacketRing();
      if (typeof addon === "string") why = addon;
      else {
        const probe = PacketRing.open(addon, 1, 65536, 2);
        if (typeof probe === "number") why = `packet socket: errno ${-probe}`;
        else {
          probe.close();
          this.ringAddon = addon;
        }
      }
    }
    if (why !== null && require) throw new Error(why);
    this.packetSocketUnavailableReason = why;
  }

  /** The route entry of `dest`, the last one's without a map lookup (copies come in runs). */
  private entryOf(dest: Destination): RouteEntry {
    return dest === this.lastDest ? this.lastEntry! : this.routeEntry(dest);
  }

  private routeEntry(dest: Destination): RouteEntry {
    let e = this.routes.get(dest.addr);
    if (e === undefined) {
      e = { address: dest.address, route: null, ring: null, reason: null };
      this.setRoute(e, resolveRoute(dest.address));
      this.routes.set(dest.addr, e);
      if (this.refreshAt === 0) this.refreshAt = performance.now() + ROUTE_REFRESH_MS;
    }
    this.lastDest = dest;
    this.lastEntry = e;
    return e;
  }

  private setRoute(e: RouteEntry, r: Route | string): void {
    if (typeof r === "string" || this.ringAddon === null || typeof this.ringAddon === "string") {
      e.route = null;
      e.ring = null;
      e.reason = typeof r === "string" ? r : "packet socket unavailable";
      return;
    }
    let ring = this.rings.get(r.ifindex);
    if (ring === undefined) {
      const opened = PacketRing.open(this.ringAddon, r.ifindex, r.mtu);
      if (typeof opened === "number") {
        e.route = null;
        e.ring = null;
        e.reason = `packet socket on ${r.dev}: errno ${-opened}`;
        return;
      }
      ring = opened;
      this.rings.set(r.ifindex, ring);
    }
    e.route = r;
    e.ring = ring;
    e.reason = null;
  }

  /** Every few seconds, in the background: a changed route or next-hop MAC, a new neighbour. */
  private refreshRoutes(): void {
    this.refreshAt = performance.now() + ROUTE_REFRESH_MS;
    for (const e of this.routes.values()) {
      resolveRouteLater(e.address, (r) => {
        if (this.ringAddon !== null) this.setRoute(e, r);
      });
    }
  }

  /** Where each destination's copies go: "packet socket on <dev>" or why the sockets. */
  routeReasons(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const e of this.routes.values())
      out[e.address] = e.route ? `packet socket on ${e.route.dev}` : e.reason!;
    return out;
  }

  private flushRings(): void {
    this.ringsUnflushed = false;
    const f = this.flushed;
    for (const ring of this.rings.values()) {
      if (ring.outstanding === 0) continue;
      ring.flush(f);
      this.counts.ringFlushes++;
      this.counts.sent += f.sent;
      this.counts.packetRing += f.sent;
      this.counts.ringFrames += f.frames;
      this.counts.bytes += f.bytes;
      this.counts.ringStalls += f.failed;
      this.counts.dropped += f.dropped; // the interface went away or down
      if (f.failed) this.counts.ringLastErrno = f.errno;
      if (ring.outstanding > 0) this.ringsUnflushed = true; // ENOBUFS/EAGAIN: next turn
    }
  }

  /** A copy is in `ring`: counted, the rings flushed when a batch is there, a pump scheduled. */
  private ringQueued(ring: PacketRing): void {
    this.counts.queued++;
    if (ring.unflushed >= this.batch) this.flushRings();
    else this.ringsUnflushed = true;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.pump);
    }
  }

  /**
   * DirectSend for createPacketBroker: where the copy for `dest` can be built in place (the
   * packet socket's next ring slot), or null (the broker then builds it and calls `send`).
   */
  readonly slot = (dest: Destination): Uint8Array | null => {
    if (this.ringAddon === null) return null;
    const e = this.entryOf(dest);
    const ring = e.ring;
    if (ring === null) return null;
    // The interface MTU fell since the ring was opened (routes are re-read every few seconds):
    // a slot could hold a frame the kernel would drop, so the copy goes through `send`'s check.
    if (e.route!.mtu + 14 < ring.maxFrame) return null;
    if (this.qCount > 0 && this.mm !== null) this.pumpBatched(); // keep copies in order
    let v = ring.slot();
    if (v === null) {
      this.flushRings();
      v = ring.slot();
    }
    return v;
  };

  /** Sends the copy of `len` bytes the broker built in `slot(dest)`. */
  readonly commit = (dest: Destination, len: number): void => {
    const e = this.entryOf(dest);
    const ring = e.ring!;
    const route = e.route!;
    ring.commit(route.eth, len, route.src);
    this.ringQueued(ring);
  };

  /** The SendFn for createPacketBroker: copies the datagram into the ring and queues it. */
  readonly send = (dest: Destination, packet: Uint8Array, len: number): void => {
    if (this.ringAddon !== null) {
      const e = this.entryOf(dest);
      const ring = e.ring;
      const route = e.route;
      // A copy over the MTU (of a GRO-merged or jumbo frame) goes out of the ring as IPv4
      // fragments, as the UDP socket would cut it, without the socket's route lookup and IP
      // output; one under a jumbo MTU but over a 2 KiB slot takes the socket whole.
      const whole = ring !== null && len + 14 <= ring.maxFrame && len <= route!.mtu;
      if (ring !== null && (whole || len > route!.mtu)) {
        if (this.qCount > 0 && this.mm !== null) this.pumpBatched(); // keep copies in order
        const { eth, src, mtu } = route!;
        let ok = whole
          ? ring.write(eth, packet, len, src)
          : ring.writeFragments(eth, packet, len, src, mtu) > 0;
        if (!ok) {
          this.flushRings();
          ok = whole
            ? ring.write(eth, packet, len, src)
            : ring.writeFragments(eth, packet, len, src, mtu) > 0;
        }
        if (ok) {
          if (!whole) this.counts.ringFragmented++;
          this.ringQueued(ring);
          return;
        }
        // Every slot still in flight (the driver or the next hop is behind): the sockets take
        // this copy rather than lose it (ringOverflows).
        this.counts.ringOverflows++;
      }
      if (this.ringsUnflushed) this.flushRings();
    }
    // What goes on the wire after the headers the kernel writes.
    const skip = dest.kind === EncapKind.vxlan ? OUTER_IPV4 + UDP_HEADER : OUTER_IPV4;
    const n = len - skip;
    const size = this.ring.length;
    let at = this.head;
    let waste = 0;
    if (at + n > size) {
      waste = size - at;
      at = 0;
    }
    if (this.pendingBytes + waste + n > size || this.qCount === this.qOff.length) {
      this.counts.dropped++;
      return;
    }
    this.ring.set(packet.subarray(skip, len), at);
    const slot = (this.qHead + this.qCount) & (this.qOff.length - 1);
    this.qOff[slot] = at;
    this.qLen[slot] = n;
    this.qWaste[slot] = waste;
    this.qDest[slot] = dest;
    const raw = dest.kind !== EncapKind.vxlan && this.mmRaw >= 0;
    this.qRaw[slot] = raw ? 1 : 0;
    this.qAddr[slot] = dest.addr;
    this.qPort[slot] = raw ? 0 : dest.port;
    this.qCount++;
    this.head = at + n;
    this.pendingBytes += waste + n;
    this.counts.queued++;
    if (this.mm !== null && this.qCount >= this.batch) this.pumpBatched();
    if (!this.scheduled && this.qCount > 0) {
      this.scheduled = true;
      setImmediate(this.pump);
    }
  };

  /** sendmmsg path: runs of queued copies for the same socket, one syscall per run. */
  private pumpBatched(): void {
    const mm = this.mm as SendmmsgAddon;
    const slots = this.qOff.length;
    while (this.qCount > 0) {
      const first = this.qHead;
      const raw = this.qRaw[first]!;
      let n = 1;
      const max = Math.min(this.qCount, slots - first, 1024);
      while (n < max && this.qRaw[first + n] === raw) n++;
      const r = mm.send(
        raw ? this.mmRaw : this.mmUdp,
        this.ring,
        this.qOff,
        this.qLen,
        this.qAddr,
        this.qPort,
        first,
        n,
      );
      if (r === -11) return; // EAGAIN: socket buffer full, retry on the next turn
      const done = r < 0 ? n : r;
      for (let i = first; i < first + done; i++) {
        this.pendingBytes -= this.qWaste[i]! + this.qLen[i]!;
        if (r >= 0) {
          this.counts.sent++;
          this.counts.bytes += this.qLen[i]!;
        } else this.counts.errors++;
        this.qDest[i] = null;
      }
      this.counts.batches++;
      this.qHead = (first + done) & (slots - 1);
      this.qCount -= done;
      if (r >= 0 && r < n) return; // partial: the kernel is saturated
    }
  }

  private readonly pump = (): void => {
    this.scheduled = false;
    if (this.ringsUnflushed) this.flushRings();
    if (this.routes.size > 0 && performance.now() >= this.refreshAt) this.refreshRoutes();
    if (this.mm !== null) {
      this.pumpBatched();
      if (this.qCount > 0 || this.ringsUnflushed) {
        this.scheduled = true;
        setImmediate(this.pump);
      } else this.wake();
      return;
    }
    const mask = this.qOff.length - 1;
    let k = 0;
    while (this.qCount > 0 && k < this.batch) {
      const slot = this.qHead;
      const dest = this.qDest[slot]!;
      const off = this.qOff[slot]!;
      const len = this.qLen[slot]!;
      const release = this.qWaste[slot]! + len;
      this.qDest[slot] = null;
      this.qHead = (this.qHead + 1) & mask;
      this.qCount--;
      this.inFlight++;
      const done = (err?: Error | null) => {
        this.inFlight--;
        this.pendingBytes -= release;
        if (err) this.counts.errors++;
        else {
          this.counts.sent++;
          this.counts.bytes += len;
        }
        if (this.inFlight === 0 && this.qCount === 0 && !this.ringsUnflushed) this.wake();
      };
      if (dest.kind !== EncapKind.vxlan && this.raw !== null) {
        this.raw.send(this.ring, off, len, dest.address, null, done);
      } else {
        this.udp.send(this.ring, off, len, dest.port, dest.address, done);
      }
      k++;
    }
    if (this.qCount > 0 || this.ringsUnflushed) {
      this.scheduled = true;
      setImmediate(this.pump);
    } else if (this.inFlight === 0) this.wake();
  };

  private wake(): void {
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }

  /** Resolves when every queued copy has been handed to the kernel. */
  flush(): Promise<void> {
    if (this.qCount === 0 && this.inFlight === 0 && !this.ringsUnflushed) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  stats(): SenderStats {
    return { ...this.counts };
  }

  async close(): Promise<void> {
    await this.flush();
    for (const ring of this.rings.values()) ring.close();
    this.rings.clear();
    this.routes.clear();
    this.lastDest = this.lastEntry = null;
    this.ringAddon = null;
    this.raw?.close();
    if (this.mm !== null) {
      this.mm.close(this.mmUdp);
      if (this.mmRaw >= 0) this.mm.close(this.mmRaw);
    }
    await new Promise<void>((r) => this.udp.close(() => r()));
  }
}

export function createSender(o: SenderOptions = {}): PacketSender {
  return new PacketSender(o);
}
