/**
 * `run --interface`: live capture through libpcap, via the `cap` binding. `cap` is an optional
 * dependency (it compiles against libpcap-dev), loaded lazily here only, so a machine without
 * libpcap installs and runs everything else; asking for live capture there fails with one line
 * saying what to install.
 */
import { createRequire } from "node:module";
import type { Pipeline } from "../run/pipeline.ts";

/** cap's link-type names → pcap LINKTYPE numbers the decoder understands. */
const LINK_TYPES: Record<string, number> = {
  NULL: 0,
  ETHERNET: 1,
  RAW: 101,
  LINKTYPE_LINUX_SLL: 113,
};

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

function loadCap(): CapModule {
  try {
    // cap is CommonJS with a native addon; require keeps it out of every other code path.
    return createRequire(import.meta.url)("cap") as CapModule;
  } catch (err) {
    throw new LiveCaptureError(
      `live capture needs the optional 'cap' package built against libpcap (run scripts/install-system.sh, then npm install): ${(err as Error).message.split("\n")[0]}`,
    );
  }
}

export function listInterfaces(): string[] {
  return loadCap()
    .Cap.deviceList()
    .map((d) => d.name);
}

export interface LiveCapture {
  linkType: number;
  stop(): void;
}

const SNAPLEN_BUFFER = 262_144;

export function startLiveCapture(iface: string, bpf: string, pipeline: Pipeline): LiveCapture {
  const { Cap } = loadCap();
  const names = Cap.deviceList().map((d) => d.name);
  if (!names.includes(iface)) {
    throw new LiveCaptureError(`unknown interface "${iface}" (available: ${names.join(", ") || "none"})`);
  }
  const cap = new Cap();
  const buffer = Buffer.alloc(SNAPLEN_BUFFER);
  let linkName: string;
  try {
    linkName = cap.open(iface, bpf, 16 * 1024 * 1024, buffer);
  } catch (err) {
    const msg = (err as Error).message;
    if (/permission|not permitted|EPERM|EACCES/i.test(msg)) {
      throw new LiveCaptureError(
        `no permission to capture on "${iface}": run as root or grant CAP_NET_RAW (${msg})`,
      );
    }
    throw new LiveCaptureError(`cannot capture on "${iface}"${bpf ? ` with filter "${bpf}"` : ""}: ${msg}`);
  }
  const linkType = LINK_TYPES[linkName];
  if (linkType === undefined) {
    cap.close();
    throw new LiveCaptureError(`interface "${iface}" has a link type the agent does not decode: ${linkName}`);
  }
  cap.setMinBytes?.(0);
  cap.on("packet", (nbytes) => {
    // libpcap's header time is not exposed by cap; arrival time here is within the poll delay.
    // cap does not expose the wire length either: with a full snaplen it equals nbytes.
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
    stop() {
      if (stopped) return;
      stopped = true;
      cap.close();
    },
  };
}
