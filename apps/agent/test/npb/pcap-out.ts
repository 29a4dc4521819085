/** Writes copies to a pcap (LINKTYPE_RAW: each record starts with the outer IPv4 header) and runs tshark on it. */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";

export function writeRawPcap(path: string, packets: Uint8Array[], linkType = 101): void {
  const h = Buffer.alloc(24);
  h.writeUInt32LE(0xa1b2c3d4, 0);
  h.writeUInt16LE(2, 4);
  h.writeUInt16LE(4, 6);
  h.writeUInt32LE(262144, 16);
  h.writeUInt32LE(linkType, 20);
  const parts: Buffer[] = [h];
  packets.forEach((p, i) => {
    const r = Buffer.alloc(16);
    r.writeUInt32LE(1_700_000_000 + i, 0);
    r.writeUInt32LE(p.length, 8);
    r.writeUInt32LE(p.length, 12);
    parts.push(r, Buffer.from(p));
  });
  writeFileSync(path, Buffer.concat(parts));
}

/** tshark must be installed: throws (fails the test) with a clear message otherwise. */
export function tsharkFields(path: string, fields: string[], extra: string[] = []): string[][] {
  let out: string;
  try {
    out = execFileSync(
      "tshark",
      [
        "-n",
        "-r",
        path,
        ...extra,
        "-T",
        "fields",
        "-E",
        "separator=|",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=,",
        ...fields.flatMap((f) => ["-e", f]),
      ],
      { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
    );
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === "ENOENT")
      throw new Error(
        "tshark is not installed (apt-get install -y tshark): the encapsulation checks need it",
      );
    throw new Error(`tshark failed: ${err.stderr ?? err.message}`);
  }
  return out
    .trimEnd()
    .split("\n")
    .map((l) => l.split("|"));
}
