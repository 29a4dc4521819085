/**
 * locateFrame's shortcut (untagged Ethernet, IPv4/IPv6 carrying TCP) must give the layout the
 * full walk gives: every frame of the shared captures, and of the bench capture when present.
 */
import { existsSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { sharedPcapsDir } from "@flowplane/core/shared-dir";
import { describe, expect, it } from "vitest";
import { readCaptureFile } from "../../src/capture/capture-file.ts";
import { decodeFrame } from "../../src/decode/packet.ts";
import { PacketMeta } from "../../src/decode/packet-meta.ts";
import { FrameLayout, locateFrame, walkFrame } from "../../src/npb/frame-layout.ts";

const bench = resolve(import.meta.dirname, "../../../../bench/out/real-1m.pcap");
const files = [
  ...readdirSync(sharedPcapsDir())
    .filter((f) => f.endsWith(".pcap") || f.endsWith(".pcapng"))
    .map((f) => join(sharedPcapsDir(), f)),
  ...(existsSync(bench) ? [bench] : []),
];

describe("locateFrame shortcut", () => {
  it("agrees with the full walk on every frame", () => {
    const m = new PacketMeta();
    const a = new FrameLayout();
    const w = new FrameLayout();
    let frames = 0;
    for (const file of files) {
      let n = 0;
      readCaptureFile(
        file,
        (lt, buf, off, capLen) => {
          if (n++ >= 50_000) return; // the bench capture: its first 50 000 frames
          decodeFrame(m, lt, buf, off, capLen);
          const ra = locateFrame(a, m, lt, buf, off, capLen);
          const rw = walkFrame(w, m, lt, buf, off, capLen);
          expect({ ...a, ok: ra }, file).toEqual({ ...w, ok: rw });
          frames++;
        },
        () => {},
      );
    }
    expect(frames).toBeGreaterThan(1000);
  });
});
