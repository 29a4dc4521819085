/**
 * PacketRing's bookkeeping against a stand-in for the addon (a plain ArrayBuffer as the ring,
 * send(2)'s answer chosen by the test): frames a flush cannot send stay queued only while the
 * error is one that passes (EAGAIN, ENOBUFS). The kernel path itself is covered by
 * test/netns/npb-packet-ring.test.ts.
 */
import { describe, expect, it } from "vitest";
import { ipChecksum } from "../../src/npb/encap.ts";
import { fragmentCount } from "../../src/npb/fragment.ts";
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
const result = (): FlushResult => ({ sent: 0, frames: 0, bytes: 0, failed: 0, errno: 0, dropped: 0 });

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

/** A ring whose flush sends every queued frame (status back to 0), as the kernel does. */
function sendingRing(frames: number, mtu = 1500) {
  const ab = new ArrayBuffer(FRAME * frames);
  const words = new Uint32Array(ab);
  const addon = {
    open: () => -1,
    flush: () => {
      for (let i = 0; i < frames; i++) if (words[(i * FRAME) >>> 2] === 1) words[(i * FRAME) >>> 2] = 0;
      return 0;
    },
    close: () => 0,
  };
  return { ring: new PacketRing(addon, 3, ab, frames, mtu, true), bytes: new Uint8Array(ab), words };
}

/** An IPv4 datagram of `len` bytes: DF, id 0x1234, protocol UDP, payload bytes i & 255. */
function datagram(len: number): Uint8Array {
  const p = new Uint8Array(len);
  for (let i = 20; i < len; i++) p[i] = (i * 7) & 255;
  p.set([0x45, 0, len >>> 8, len & 255, 0x12, 0x34, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
  const c = ipChecksum(p, 0, 20);
  p[10] = c >>> 8;
  p[11] = c & 255;
  return p;
}

describe("PacketRing.writeFragments", () => {
  const src = (10 << 24) | (78 << 16) | 1; // 10.78.0.1: rewritten into every fragment
  const ethHdr = Uint8Array.from([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0]);

  it.each([1501, 2961, 9000, 14_000, 65_535])(
    "cuts a %i-byte copy into fragments that reassemble to it (offsets, MF, id, checksums)",
    (len) => {
      const { ring, bytes } = sendingRing(64);
      const p = datagram(len);
      const k = fragmentCount(p, len, 1500);
      expect(ring.writeFragments(ethHdr, p, len, src, 1500)).toBe(k);
      expect(k).toBe(Math.ceil((len - 20) / 1480));
      const payload = new Uint8Array(len - 20);
      let covered = 0;
      for (let i = 0; i < k; i++) {
        const at = i * FRAME + 32;
        const tpLen = new DataView(bytes.buffer).getUint32(i * FRAME + 4, true);
        expect(bytes[at + 2]! | (bytes[at + 3]! << 8)).toBe(tpLen - 10); // virtio hdr_len: the frame
        expect(bytes.subarray(at + 10, at + 24)).toEqual(ethHdr);
        const ip = bytes.subarray(at + 24, at + tpLen);
        const total = (ip[2]! << 8) | ip[3]!;
        expect(total).toBe(ip.length);
        expect(total).toBeLessThanOrEqual(1500);
        expect(ipChecksum(ip, 0, 20)).toBe(0);
        expect((ip[4]! << 8) | ip[5]!).toBe(0x1234);
        const field = (ip[6]! << 8) | ip[7]!;
        expect(field & 0x4000).toBe(0); // DF cleared
        expect((field & 0x2000) !== 0).toBe(i < k - 1); // MF on all but the last
        const offset = (field & 0x1fff) * 8;
        expect(offset).toBe(covered);
        if (i < k - 1) expect((total - 20) % 8).toBe(0);
        expect(Array.from(ip.subarray(12, 16))).toEqual([10, 78, 0, 1]);
        expect(ip.subarray(16, 20)).toEqual(p.subarray(16, 20));
        payload.set(ip.subarray(20), offset);
        covered += total - 20;
      }
      expect(covered).toBe(len - 20);
      expect(payload).toEqual(p.subarray(20));
      const out = result();
      ring.flush(out);
      expect(out).toMatchObject({ sent: 1, frames: k, failed: 0 });
    },
  );

  it("writes nothing when the free slots cannot take every fragment; a flush makes room", () => {
    const { ring } = sendingRing(8);
    const small = datagram(100);
    for (let i = 0; i < 5; i++) expect(ring.write(ethHdr, small, 100, src)).toBe(true);
    const big = datagram(6000); // 5 fragments, 3 slots free
    expect(ring.writeFragments(ethHdr, big, 6000, src, 1500)).toBe(0);
    expect(ring.outstanding).toBe(5);
    const out = result();
    ring.flush(out);
    expect(out).toMatchObject({ sent: 5, frames: 5 });
    expect(ring.writeFragments(ethHdr, big, 6000, src, 1500)).toBe(5);
    expect(ring.write(ethHdr, small, 100, src)).toBe(true);
    ring.flush(out);
    expect(out).toMatchObject({ sent: 2, frames: 6 });
  });

  it("counts a fragmented copy given up (interface gone) once", () => {
    const ring = ringAnswering(6);
    expect(ring.writeFragments(eth, datagram(3000), 3000, 0, 1500)).toBe(3);
    const out = result();
    ring.flush(out);
    expect(out).toMatchObject({ sent: 0, frames: 0, dropped: 1 });
    expect(ring.outstanding).toBe(0);
  });
});
