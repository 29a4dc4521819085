/**
 * PacketRing's bookkeeping against a stand-in for the addon (a plain ArrayBuffer as the ring,
 * send(2)'s answer chosen by the test): frames a flush cannot send stay queued only while the
 * error is one that passes (EAGAIN, ENOBUFS). The kernel path itself is covered by
 * test/netns/npb-packet-ring.test.ts.
 */
import { describe, expect, it } from "vitest";
import { type FlushResult, PacketRing } from "../../src/npb/packet-ring.ts";

const FRAME = 2048;

function ringAnswering(errno: number) {
  const addon = {
    open: () => -1,
    flush: () => -errno,
    close: () => 0,
  };
  return new PacketRing(addon, 3, new ArrayBuffer(FRAME * 4), 4, 1500, true);
}

const eth = new Uint8Array(14);
const packet = new Uint8Array(60).fill(0x45, 0, 1);
const result = (): FlushResult => ({ sent: 0, bytes: 0, failed: 0, errno: 0, dropped: 0 });

describe("PacketRing.flush", () => {
  it("keeps frames queued for the next flush when the send buffer is full (EAGAIN)", () => {
    const ring = ringAnswering(11);
    expect(ring.write(eth, packet, 60, 0)).toBe(true);
    const out = result();
    ring.flush(out);
    expect(out).toMatchObject({ sent: 0, failed: 1, errno: 11, dropped: 0 });
    expect(ring.outstanding).toBe(1);
  });

  it("gives the slots back when the interface is gone or down (ENXIO, ENETDOWN)", () => {
    for (const errno of [6, 100]) {
      const ring = ringAnswering(errno);
      for (let i = 0; i < 4; i++) expect(ring.write(eth, packet, 60, 0)).toBe(true);
      expect(ring.slot()).toBeNull();
      const out = result();
      ring.flush(out);
      // Retrying could never send them: a sender would spin on them and never be idle.
      expect(out).toMatchObject({ sent: 0, failed: 1, errno, dropped: 4 });
      expect(ring.outstanding).toBe(0);
      expect(ring.slot()).not.toBeNull();
      expect(ring.write(eth, packet, 60, 0)).toBe(true);
    }
  });
});
