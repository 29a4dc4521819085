/**
 * Fuzzing with fast-check: random bytes under every link type, truncations and bit flips of
 * real frames from the shared captures, and corrupted capture files. Nothing may throw; every
 * bad frame must come back as a decode error code, every bad file as counted reader errors.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { sharedPcapsDir } from "@flowplane/core/shared-dir";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { readCaptureBuffer } from "../src/capture/capture-file.ts";
import { decodeFrame } from "../src/decode/packet.ts";
import { PacketMeta } from "../src/decode/packet-meta.ts";
import { createEngine } from "../src/flow/flow-engine.ts";

const LINK_TYPES = [0, 1, 101, 108, 113, 228, 229, 276, 12345];
const m = new PacketMeta();

const dir = sharedPcapsDir();
const realFrames: { lt: number; bytes: Uint8Array }[] = [];
for (const f of readdirSync(dir).filter((x) => x.endsWith(".pcap"))) {
  readCaptureBuffer(
    readFileSync(join(dir, f)),
    (lt, b, off, cap) => {
      if (realFrames.length < 4000)
        realFrames.push({ lt, bytes: Uint8Array.from(b.subarray(off, off + cap)) });
    },
    () => {},
  );
}

describe("decoder fuzz", () => {
  it("random bytes under every link type", () => {
    fc.assert(
      fc.property(fc.constantFrom(...LINK_TYPES), fc.uint8Array({ maxLength: 200 }), (lt, bytes) => {
        const r = decodeFrame(m, lt, bytes, 0, bytes.length);
        return r >= 0 && r <= 6;
      }),
      { numRuns: 20000 },
    );
  });

  it("truncations and bit flips of real frames", () => {
    expect(realFrames.length).toBeGreaterThan(1000);
    fc.assert(
      fc.property(
        fc.nat({ max: realFrames.length - 1 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        (i, cut, flips) => {
          const f = realFrames[i] as { lt: number; bytes: Uint8Array };
          const b = Uint8Array.from(f.bytes);
          for (const [at, v] of flips) if (b.length) b[at % b.length] = v;
          const n = Math.floor(b.length * cut);
          const r = decodeFrame(m, f.lt, b, 0, n);
          return r >= 0 && r <= 6;
        },
      ),
      { numRuns: 20000 },
    );
  });

  it("corrupted capture files: the engine never throws and counts errors", () => {
    const files = readdirSync(dir).filter((x) => x.endsWith(".pcap"));
    fc.assert(
      fc.property(
        fc.constantFrom(...files),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (file, flips, cut) => {
          const buf = Buffer.from(readFileSync(join(dir, file)));
          for (const [at, v] of flips) buf[at % buf.length] = v;
          const e = createEngine({ maxFlows: 64 });
          readCaptureBuffer(
            buf.subarray(0, Math.max(1, Math.floor(buf.length * cut))),
            (lt, b, off, cap, wire, ts, fo) => e.packet(lt, b, off, cap, wire, ts, fo),
            (kind, offset) => e.decodeError(kind, offset),
          );
          e.flush();
          const s = e.stats();
          return s.flowPackets + s.nonIp + s.skippedOtherShards <= s.packets;
        },
      ),
      { numRuns: 300 },
    );
  });
});
