/**
 * `run --interface`: live capture through libpcap. First choice is our own addon
 * (native/pcap-capture.c, built on first use by pcap-addon.ts): batches of records in pcap file
 * layout go through the offline reader's record parser, so live packets carry libpcap's kernel
 * timestamp and wire length, and pcap_stats gives the kernel drop counters. When the addon
 * cannot be built, the optional `cap` binding is used (one JS call per packet, arrival time,
 * no wire length): `note` says why. Both are loaded lazily here only, so a machine without
 * libpcap installs and runs everything else; asking for live capture there fails with one line
 * saying what to install.
 */
import { createRequire } from "node:module";
import { endianness } from "node:os";
import { ChunkedSource } from "../capture/chunked-source.ts";
import type { PacketHandler, ReadErrorHandler } from "../capture/packet-sink.ts";
import { readPcapRecords } from "../capture/pcap-reader.ts";
import { LinkType } from "../decode/packet.ts";
import type { Pipeline } from "../run/pipeline.ts";
import { loadPcapAddon, type PcapAddon, type PcapHandle } from "./pcap-addon.ts";

/** cap's link-type names → pcap LINKTYPE numbers the decoder understands. */
const CAP_LINK_TYPES: Record<string, number> = {
  NULL: 0,
  ETHERNET: 1,
  RAW: 101,
  LINKTYPE_LINUX_SLL: 113,
};
const DECODED = new Set<number>(Object.values(LinkType));

interface CapInstance {
  open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
  setMinBytes?(n: number): void;
  on(event: "packet", fn: (nbytes: number, truncated: boolean) => void): void;
  close(): void;
}
interface CapModule {
  Cap: { new (): CapInstance; deviceList(): { name: string }[] };
}

/** A failure the user can act on: printed as one line, exit code non-zero. */
export class LiveCaptureError extends Error {}

function loadCap(addonReason: string): CapModule {
  try {
    // cap is CommonJS with a native addon; require keeps it out of every other code path.
    return createRequire(import.meta.url)("cap") as CapModule;
  } catch (err) {
    throw new LiveCaptureError(
      `live capture needs libpcap: ${addonReason}, and the optional 'cap' package built against libpcap is not loadable (run scripts/install-system.sh, then npm install): ${(err as Error).message.split("\n")[0]}`,
    );
  }
}

export function listInterfaces(): string[] {
  const addon = loadPcapAddon();
  if (typeof addon !== "string") return addon.devices();
  return loadCap(addon)
    .Cap.deviceList()
    .map((d) => d.name);
}

/** pcap_stats: packets the kernel handed to the capture, dropped for lack of room, dropped by the NIC/driver. */
export interface KernelStats {
  received: number;
  dropped: number;
  ifDropped: number;
}

export interface LiveCapture {
  linkType: number;
  /** Which libpcap binding captures. */
  backend: "pcap-addon" | "cap";
  /** Why the addon is not used, when it is not. */
  note?: string;
  /** Kernel counters (addon only; `cap` does not expose them). */
  kernelStats(): KernelStats | undefined;
  /** Stops capturing; packets already captured are handed to the pipeline before it returns. */
  stop(): void;
}

export interface LiveCaptureOptions {
  /** Bytes kept per packet (default 262144, tcpdump's); `bytes_*` still count the wire length. */
  snaplen?: number;
  promisc?: boolean;
  /** A capture error after start (interface gone): one line. Default: stderr. */
  onError?: (line: string) => void;
}

const SNAPLEN = 262_144;
const BATCH_BYTES = 1 << 20;
const BATCHES = 8;
const KERNEL_BUFFER = 32 << 20;
/** Kernel block timeout (TPACKET_V3) and the most a partial batch waits in the addon. */
const TIMEOUT_MS = 10;
const FLUSH_MS = 15;

export function startLiveCapture(
  iface: string,
  bpf: string,
  pipeline: Pipeline,
  opts: LiveCaptureOptions = {},
): LiveCapture {
  const addon = loadPcapAddon();
  if (typeof addon !== "string") return startWithAddon(addon, iface, bpf, pipeline, opts);
  return startWithCap(iface, bpf, pipeline, addon);
}

function unknownInterface(iface: string, names: string[]): LiveCaptureError {
  return new LiveCaptureError(`unknown interface "${iface}" (available: ${names.join(", ") || "none"})`);
}

function noPermission(iface: string, msg: string): LiveCaptureError {
  return new LiveCaptureError(
    `no permission to capture on "${iface}": run as root or grant CAP_NET_RAW (${msg})`,
  );
}

function startWithAddon(
  addon: PcapAddon,
  iface: string,
  bpf: string,
  pipeline: Pipeline,
  opts: LiveCaptureOptions,
): LiveCapture {
  const names = addon.devices();
  if (!names.includes(iface)) throw unknownInterface(iface, names);
  const snaplen = opts.snaplen ?? SNAPLEN;
  const buffers = Array.from({ length: BATCHES }, () =>
    Buffer.allocUnsafeSlow(Math.max(BATCH_BYTES, 2 * (snaplen + 16))),
  );
  const le = endianness() === "LE";
  const onPacket: PacketHandler = (lt, buf, off, cap, wire, ts) =>
    pipeline.packet(lt, buf, off, cap, wire, ts);
  const onReadError: ReadErrorHandler = (kind, at) => pipeline.readError(kind, at);
  let linkType = -1;
  let stopped = false;
  const feed = (index: number, length: number) => {
    const b = buffers[index] as Buffer;
    readPcapRecords(
      ChunkedSource.fromBuffer(b.subarray(0, length)),
      le,
      false,
      linkType,
      onPacket,
      onReadError,
    );
  };
  let h: PcapHandle;
  try {
    h = addon.open(
      iface,
      bpf,
      snaplen,
      opts.promisc === false ? 0 : 1,
      KERNEL_BUFFER,
      TIMEOUT_MS,
      FLUSH_MS,
      buffers,
      (index, length) => {
        // Deliveries still queued when stop() ran were drained there.
        if (stopped) return;
        if (index < 0) {
          (opts.onError ?? ((l) => process.stderr.write(`${l}\n`)))(
            `live capture on "${iface}" ended: ${addon.error(h)}`,
          );
          return;
        }
        try {
          feed(index, length);
        } finally {
          addon.release(h, index);
        }
      },
    );
  } catch (err) {
    const e = err as Error & { code?: string };
    if (e.code === "ENODEV") throw unknownInterface(iface, names);
    if (e.code === "EPERM") throw noPermission(iface, e.message);
    if (e.code === "EBPF") throw new LiveCaptureError(`invalid capture filter "${bpf}": ${e.message}`);
    throw new LiveCaptureError(
      `cannot capture on "${iface}"${bpf ? ` with filter "${bpf}"` : ""}: ${e.message}`,
    );
  }
  const dlt = addon.linkType(h);
  // DLT_RAW is 12 (14 on some BSDs) as a DLT but 101 as a file link type; the rest coincide.
  linkType = dlt === 12 || dlt === 14 ? LinkType.raw : dlt;
  if (!DECODED.has(linkType)) {
    addon.close(h);
    throw new LiveCaptureError(`interface "${iface}" has a link type the agent does not decode: DLT ${dlt}`);
  }
  let last: KernelStats | undefined;
  const kernelStats = (): KernelStats => {
    if (last) return last;
    const [received, dropped, ifDropped] = addon.stats(h);
    return { received, dropped, ifDropped };
  };
  return {
    linkType,
    backend: "pcap-addon",
    kernelStats,
    stop() {
      if (stopped) return;
      addon.close(h);
      stopped = true;
      const pending = addon.pending(h);
      for (let i = 0; i < pending.length; i += 2) feed(pending[i] as number, pending[i + 1] as number);
      last = kernelStats();
    },
  };
}

function startWithCap(iface: string, bpf: string, pipeline: Pipeline, addonReason: string): LiveCapture {
  const { Cap } = loadCap(addonReason);
  const names = Cap.deviceList().map((d) => d.name);
  if (!names.includes(iface)) throw unknownInterface(iface, names);
  const cap = new Cap();
  const buffer = Buffer.alloc(SNAPLEN);
  let linkName: string;
  try {
    linkName = cap.open(iface, bpf, 16 * 1024 * 1024, buffer);
  } catch (err) {
    const msg = (err as Error).message;
    if (/permission|not permitted|EPERM|EACCES/i.test(msg)) throw noPermission(iface, msg);
    throw new LiveCaptureError(`cannot capture on "${iface}"${bpf ? ` with filter "${bpf}"` : ""}: ${msg}`);
  }
  const linkType = CAP_LINK_TYPES[linkName];
  if (linkType === undefined) {
    cap.close();
    throw new LiveCaptureError(`interface "${iface}" has a link type the agent does not decode: ${linkName}`);
  }
  cap.setMinBytes?.(0);
  cap.on("packet", (nbytes) => {
    // cap exposes neither libpcap's header time (arrival time here is within the poll delay)
    // nor the wire length (with a full snaplen it equals nbytes).
    pipeline.packet(
      linkType,
      buffer,
      0,
      nbytes,
      nbytes,
      Math.floor((performance.timeOrigin + performance.now()) * 1000),
    );
  });
  let stopped = false;
  return {
    linkType,
    backend: "cap",
    note: addonReason,
    kernelStats: () => undefined,
    stop() {
      if (stopped) return;
      stopped = true;
      cap.close();
    },
  };
}
