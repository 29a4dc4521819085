/**
 * The libpcap capture addon (native/pcap-capture.c), compiled on first use against Debian's
 * libpcap-dev and loaded by @flowplane/core/native-addon (per-user private build directory, checked
 * before loading). Anything missing (no compiler, no pcap.h, not Linux) yields a one-line reason
 * and live capture falls back to the `cap` binding.
 * FLOWPLANE_PCAP_ADDON=off forces that fallback (tests, or to compare the two).
 */
import { buildAddon } from "@flowplane/core/native-addon";

export interface PcapAddon {
  devices(): string[];
  /** Throws an Error whose `code` is ENODEV, EPERM, EBPF or EPCAP. */
  open(
    device: string,
    filter: string,
    snaplen: number,
    promisc: number,
    kernelBufferBytes: number,
    timeoutMs: number,
    flushMs: number,
    buffers: Uint8Array[],
    onBatch: (index: number, length: number) => void,
  ): PcapHandle;
  linkType(h: PcapHandle): number;
  release(h: PcapHandle, index: number): void;
  /** [ps_recv, ps_drop, ps_ifdrop], refreshed by the capture thread every 100 ms and at close. */
  stats(h: PcapHandle): [number, number, number];
  error(h: PcapHandle): string;
  close(h: PcapHandle): void;
  /** After close: [index, length, ...] of batches not delivered yet, oldest first. */
  pending(h: PcapHandle): number[];
}
declare const handle: unique symbol;
export type PcapHandle = { readonly [handle]: true };

let cached: PcapAddon | string | undefined;

/** The addon, or why it is unavailable (one line). */
export function loadPcapAddon(): PcapAddon | string {
  if (cached !== undefined) return cached;
  const force = process.env.FLOWPLANE_PCAP_ADDON;
  if (force === "off" || force === "0") {
    cached = `pcap addon disabled by FLOWPLANE_PCAP_ADDON=${force}`;
    return cached;
  }
  cached = buildAddon<PcapAddon>({
    name: "pcap-capture",
    source: new URL("./native/pcap-capture.c", import.meta.url),
    linkFlags: ["-lpcap", "-lpthread"],
    requires: [{ header: "/usr/include/pcap/pcap.h", missing: "libpcap-dev" }],
  });
  return cached;
}
