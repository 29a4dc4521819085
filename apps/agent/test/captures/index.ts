import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Recorded fixtures (scripts/record-captures.sh, see MANIFEST.md beside them). */
export const capturesDir = dirname(fileURLToPath(import.meta.url));

/** Absolute paths of every recorded capture. */
export const recordedCaptures = (): string[] =>
  readdirSync(capturesDir)
    .filter((f) => f.endsWith(".pcap"))
    .sort()
    .map((f) => join(capturesDir, f));

/** tshark `-d` arguments each recorded file needs (private ports). */
export const recordedDecodeAs: Record<string, string[]> = {
  "redis-cli.pcap": ["tcp.port==16379,resp"],
  "dns-dig.pcap": ["udp.port==15353,dns", "tcp.port==15353,dns"],
};
