/**
 * The libpcap capture addon (native/pcap-capture.c): compiled on first use with the system C
 * compiler against the Node headers and Debian's libpcap-dev into the temp dir (named by a hash
 * of source and Node version, so it is built once per machine and never stale), then loaded,
 * like ../npb/fast-send.ts. Anything missing (no compiler, no pcap.h, not Linux) yields a
 * one-line reason and live capture falls back to the `cap` binding.
 * FLOWPLANE_PCAP_ADDON=off forces that fallback (tests, or to compare the two).
 * The build lives in a per-user 0700 directory under the temp dir: the agent runs as root, and a
 * .node file anyone could have planted in /tmp would run as root once loaded.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

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

function headerDir(): string | undefined {
  const candidates = [
    join(dirname(process.execPath), "..", "include", "node"),
    "/usr/include/node",
    "/usr/local/include/node",
  ];
  return candidates.find((d) => existsSync(join(d, "node_api.h")));
}

/** The addon, or why it is unavailable (one line). */
export function loadPcapAddon(): PcapAddon | string {
  if (cached !== undefined) return cached;
  cached = build();
  return cached;
}

/** $TMPDIR/flowplane-native-<uid>, 0700 and ours, or why not. */
function privateDir(): string | { reason: string } {
  const uid = process.getuid?.() ?? -1;
  const dir = join(tmpdir(), `flowplane-native-${uid}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o077) !== 0) {
    return {
      reason: `pcap addon: ${dir} is not a private directory of this user (owner ${st.uid}, mode ${(st.mode & 0o777).toString(8)})`,
    };
  }
  return dir;
}

function build(): PcapAddon | string {
  const force = process.env.FLOWPLANE_PCAP_ADDON;
  if (force === "off" || force === "0") return `pcap addon disabled by FLOWPLANE_PCAP_ADDON=${force}`;
  if (process.platform !== "linux") return "pcap addon: Linux only";
  const srcPath = new URL("./native/pcap-capture.c", import.meta.url);
  const src = readFileSync(srcPath);
  const hash = createHash("sha256").update(src).update(process.version).digest("hex").slice(0, 16);
  try {
    const dir = privateDir();
    if (typeof dir !== "string") return dir.reason;
    const out = join(dir, `pcap-capture-${hash}.node`);
    if (!existsSync(out)) {
      const inc = headerDir();
      if (!inc) return "pcap addon: Node headers (node_api.h) not found";
      if (!existsSync("/usr/include/pcap/pcap.h"))
        return "pcap addon: libpcap-dev (pcap/pcap.h) not installed";
      const tmp = `${out}.${process.pid}.tmp`;
      execFileSync(
        "cc",
        ["-O2", "-shared", "-fPIC", "-I", inc, "-o", tmp, srcPath.pathname, "-lpcap", "-lpthread"],
        { stdio: "pipe" },
      );
      renameSync(tmp, out); // atomic: concurrent builders race harmlessly
      rmSync(tmp, { force: true });
    }
    return createRequire(import.meta.url)(out) as PcapAddon;
  } catch (e) {
    const err = e as Error & { stderr?: Buffer };
    const detail = err.stderr?.toString().trim().split("\n")[0] || err.message.split("\n")[0];
    return `pcap addon unavailable (${detail})`;
  }
}
