import { describe, expect, it } from "vitest";
import { readCaptureBuffer } from "../src/capture/capture-file.ts";
import * as F from "./helpers/frames.ts";

interface Got {
  lt: number;
  cap: number;
  wire: number;
  ts: number;
  first: number;
}
function read(buf: Buffer) {
  const pkts: Got[] = [];
  const errors: { kind: string; offset: number }[] = [];
  readCaptureBuffer(
    buf,
    (lt, b, off, cap, wire, ts) => pkts.push({ lt, cap, wire, ts, first: b[off] as number }),
    (kind, offset) => errors.push({ kind, offset }),
  );
  return { pkts, errors };
}

const frame = F.eth(0x0800, F.ipv4(6, "1.1.1.1", "2.2.2.2", F.tcp(1, 2)));
const T = 1_700_000_000_123_456;

describe("pcap", () => {
  it.each([
    ["little endian µs", {}],
    ["big endian µs", { be: true }],
    ["little endian ns", { nanos: true }],
    ["big endian ns", { be: true, nanos: true }],
  ])("%s", (_n, o) => {
    const { pkts, errors } = read(
      F.pcapFile(
        1,
        [
          { data: frame, tsMicros: T },
          { data: frame, tsMicros: T + 1, origLen: 1500 },
        ],
        o,
      ),
    );
    expect(errors).toEqual([]);
    expect(pkts.map((p) => [p.lt, p.cap, p.wire, p.ts])).toEqual([
      [1, frame.length, frame.length, T],
      [1, frame.length, 1500, T + 1],
    ]);
  });

  it("a truncated last record is an error at its offset; earlier packets are kept", () => {
    const full = F.pcapFile(1, [
      { data: frame, tsMicros: T },
      { data: frame, tsMicros: T },
    ]);
    const cut = full.subarray(0, full.length - 5);
    const { pkts, errors } = read(cut);
    expect(pkts).toHaveLength(1);
    expect(errors).toEqual([{ kind: "truncated_record", offset: 24 + 16 + frame.length }]);
  });

  it("a bogus record length stops the read with an error", () => {
    const full = F.pcapFile(1, [
      { data: frame, tsMicros: T },
      { data: frame, tsMicros: T },
    ]);
    full.writeUInt32LE(0x7fffffff, 24 + 16 + frame.length + 8);
    const { pkts, errors } = read(full);
    expect(pkts).toHaveLength(1);
    expect(errors[0]?.kind).toBe("bogus_record_length");
  });

  it("empty, header-only and garbage files never throw", () => {
    expect(read(Buffer.alloc(0)).errors[0]?.kind).toBe("empty_file");
    expect(read(F.pcapFile(1, [])).pkts).toEqual([]);
    expect(read(Buffer.from("not a capture at all")).errors[0]?.kind).toBe("unknown_file_format");
  });
});

describe("pcapng", () => {
  it.each([
    ["little endian", false],
    ["big endian", true],
  ])("%s: IDBs with link types and if_tsresol, EPB, SPB, unknown blocks skipped", (_n, be) => {
    const raw = F.ipv4(17, "1.1.1.1", "2.2.2.2", F.udp(1, 2));
    const buf = F.pcapngFile(
      [{ linkType: 1 }, { linkType: 101, tsresol: 9 }],
      [
        { kind: "epb", iface: 0, data: frame, ts: BigInt(T) },
        { kind: "unknown", type: 0x0bad },
        { kind: "epb", iface: 1, data: raw, ts: BigInt(T) * 1000n + 999n, origLen: 3000 },
        { kind: "spb", data: frame },
      ],
      { be },
    );
    const { pkts, errors } = read(buf);
    expect(errors).toEqual([]);
    expect(pkts.map((p) => [p.lt, p.cap, p.wire, p.ts])).toEqual([
      [1, frame.length, frame.length, T],
      [101, raw.length, 3000, T],
      [1, frame.length, frame.length, 0],
    ]);
  });

  it("a packet for an undeclared interface and a truncated block are counted", () => {
    const buf = F.pcapngFile(
      [{ linkType: 1 }],
      [
        { kind: "epb", iface: 0, data: frame, ts: 1n },
        { kind: "epb", iface: 5, data: frame, ts: 1n },
        { kind: "epb", iface: 0, data: frame, ts: 1n },
      ],
    );
    const { pkts, errors } = read(buf.subarray(0, buf.length - 3));
    expect(pkts).toHaveLength(1);
    expect(errors.map((e) => e.kind)).toEqual(["packet_for_unknown_interface", "truncated_block"]);
  });
});
