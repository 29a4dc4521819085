import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AGENT, l4Row, ORG_A } from "../testing-fixtures.ts";
import { l4Rows } from "./arbitraries.ts";
import { encodeNativeBlock, NativeEncodeError, writeIp } from "./encode.ts";
import { uuidBytes } from "./kinds.ts";
import { type TValidateOptions, validateNativeBlock } from "./validate.ts";

const OPTS: TValidateOptions = { table: "l4_flow_log", orgId: ORG_A, agentId: AGENT };
const rows = (n: number, over: Record<string, unknown> = {}) =>
  Array.from({ length: n }, (_, i) => ({
    ...l4Row({ flow_id: String(i + 1), client_port: 1000 + i }),
    ...over,
  }));

function varint(v: number): number[] {
  const out: number[] = [];
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}
const str = (s: string) => Buffer.from([...varint(Buffer.byteLength(s)), ...Buffer.from(s)]);

/** A block from column parts (name, type, data), for hand-made malformed ones. */
function block(n: number, cols: [string, string, Buffer][]): Buffer {
  return Buffer.concat([
    Buffer.from([...varint(cols.length), ...varint(n)]),
    ...cols.flatMap(([name, type, data]) => [str(name), str(type), data]),
  ]);
}

/** Column spans of an encoded block: name → [type, data start, data end] (test helper: fixed widths only). */
function withColumn(b: Buffer, name: string, type: string, data: Buffer, n = 2): Buffer {
  // Append a column to a block of n rows by rewriting its column count (one byte while < 128).
  const ncols = b[0] as number;
  return Buffer.concat([
    Buffer.from([ncols + 1, ...varint(n)]),
    b.subarray(1 + varint(n).length),
    str(name),
    str(type),
    data,
  ]);
}

const u64le = (v: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(v);
  return b;
};

describe("validateNativeBlock", () => {
  it("accepts an encoded block and appends org_id, agent_id and the tag columns", () => {
    const b = encodeNativeBlock("l4_flow_log", rows(3));
    let seen: Uint8Array | undefined;
    const res = validateNativeBlock(b, {
      ...OPTS,
      tags: [
        {
          column: "client_resource_id",
          from: "client_ip",
          ids: (ips) => {
            seen = ips;
            return new Uint32Array([5, 0, 7]);
          },
        },
      ],
    });
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    expect(res.rows).toBe(3);
    expect(res.columns.slice(-3)).toEqual(["org_id", "agent_id", "client_resource_id"]);
    expect(seen?.length).toBe(48);
    expect([...(seen as Uint8Array).subarray(10, 16)]).toEqual([255, 255, 10, 0, 0, 1]);
    // org_id's 16 bytes repeated, then agent_id's, then the ids.
    const p = res.payload;
    expect(p.subarray(p.length - 12)).toEqual(Buffer.from([5, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0]));
    expect(p.includes(Buffer.concat([uuidBytes(ORG_A), uuidBytes(ORG_A), uuidBytes(ORG_A)]))).toBe(true);
    expect(p.includes(Buffer.concat([uuidBytes(AGENT), uuidBytes(AGENT), uuidBytes(AGENT)]))).toBe(true);
  });

  it("refuses org_id or agent_id named by the agent", () => {
    const b = withColumn(encodeNativeBlock("l4_flow_log", rows(2)), "org_id", "UUID", Buffer.alloc(32));
    expect(validateNativeBlock(b, OPTS)).toEqual({
      ok: false,
      error: "column org_id: a block does not carry org_id or agent_id, the credential decides them",
    });
    const a = withColumn(
      encodeNativeBlock("l4_flow_log", rows(2)),
      "agent_id",
      "String",
      Buffer.from([1, 97, 1, 98]),
    );
    expect(validateNativeBlock(a, OPTS)).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^column agent_id:/),
    });
  });

  it("skips a column the table does not have (as TsvRows), or refuses it when asked", () => {
    const b = withColumn(encodeNativeBlock("l4_flow_log", rows(2)), "new_metric", "UInt32", Buffer.alloc(8));
    const res = validateNativeBlock(b, OPTS);
    expect(res).toMatchObject({ ok: true, skipped: ["new_metric"] });
    if (res.ok) expect(res.columns).not.toContain("new_metric");
    expect(validateNativeBlock(b, { ...OPTS, unknownColumns: "refuse" })).toEqual({
      ok: false,
      error: "column new_metric: l4_flow_log has no such column",
    });
    const odd = withColumn(
      encodeNativeBlock("l4_flow_log", rows(2)),
      "new_map",
      "Map(String, UInt8)",
      Buffer.alloc(8),
    );
    expect(validateNativeBlock(odd, OPTS)).toMatchObject({
      ok: false,
      error: expect.stringMatching(/cannot skip/),
    });
  });

  it("refuses wrong types, missing columns and values out of range, naming row and column", () => {
    const cases: [Buffer, string][] = [
      [
        block(1, [["client_port", "UInt32", Buffer.alloc(4)]]),
        "column client_port: type UInt32, expected UInt16",
      ],
      [
        block(1, [["client_port", "UInt16", Buffer.alloc(2)]]),
        "block: does not carry column flow_id, which l4_flow_log rows must have",
      ],
      [
        block(2, [["bytes_c2s", "UInt64", Buffer.concat([u64le(1n), u64le(2n ** 53n)])]]),
        "row 1, column bytes_c2s: more than 2^53 - 1",
      ],
      [
        block(2, [["end_time", "DateTime64(6, 'UTC')", Buffer.concat([u64le(1n), u64le(2n ** 64n - 1n)])]]),
        "row 1, column end_time: a time before 1970",
      ],
      [
        block(2, [["is_final", "Bool", Buffer.from([1, 2])]]),
        "row 1, column is_final: Bool byte 2 (expected 0 or 1)",
      ],
      [
        block(2, [["close_type", "String", Buffer.concat([str("fin"), str("Fin")])]]),
        "row 1, column close_type: expected a lower-case token of at most 32 characters (byte 70)",
      ],
      [
        block(1, [["close_type", "String", str("x".repeat(33))]]),
        "row 0, column close_type: expected a lower-case token of at most 32 characters (33 bytes)",
      ],
      [
        block(2, [
          [
            "l7_protocol",
            "LowCardinality(String)",
            Buffer.concat([
              u64le(1n),
              u64le(0x600n),
              u64le(2n),
              str(""),
              str("http"),
              u64le(2n),
              Buffer.from([1, 2]),
            ]),
          ],
        ]),
        "row 1, column l7_protocol: dictionary index 2, only 2 keys",
      ],
      [
        block(1, [
          [
            "l7_protocol",
            "LowCardinality(String)",
            Buffer.concat([u64le(1n), u64le(0x600n), u64le(1n), str("HTTP"), u64le(1n), Buffer.from([0])]),
          ],
        ]),
        "row 0, column l7_protocol (dictionary key): expected a lower-case token of at most 32 characters (byte 72)",
      ],
      [
        block(3, [["client_port", "UInt16", Buffer.alloc(4)]]),
        "block: ends inside column client_port (6 bytes needed, 4 left)",
      ],
      [
        Buffer.from([1, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
        "block: the length of column 0's name is not a valid length (varint too long)",
      ],
      [Buffer.from([1, 0x80, 0x80, 0x80, 0x01]), "block: the row count is 2097152, more than 1000000"],
      [
        Buffer.concat([block(1, [["vlan", "UInt16", Buffer.alloc(2)]]), Buffer.from([0])]),
        "block: 1 bytes after its last column",
      ],
      [
        block(1, [
          ["vlan", "UInt16", Buffer.alloc(2)],
          ["vlan", "UInt16", Buffer.alloc(2)],
        ]),
        "column vlan: named twice",
      ],
    ];
    for (const [b, error] of cases) expect(validateNativeBlock(b, OPTS)).toEqual({ ok: false, error });
  });

  it("never throws or reads past the block: every prefix and random corruptions", () => {
    const b = encodeNativeBlock("l4_flow_log", rows(5, { client_ip: "2001:db8::7" }));
    for (let len = 0; len < b.length; len++) {
      const res = validateNativeBlock(b.subarray(0, len), OPTS);
      expect(res.ok).toBe(false);
      if (!res.ok) expect(res.error).not.toMatch(/could not be read/);
    }
    fc.assert(
      fc.property(
        l4Rows(6),
        fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        (rs, edits, asString) => {
          const good = encodeNativeBlock("l4_flow_log", rs, {
            tokens: asString ? "string" : "lowCardinality",
          });
          expect(validateNativeBlock(good, OPTS).ok).toBe(true);
          const bad = Buffer.from(good);
          for (const [at, v] of edits) bad[at % bad.length] = v;
          // Held in a larger buffer: a read past the block would see these bytes, not an error.
          const host = Buffer.alloc(bad.length + 64, 0x41);
          bad.copy(host);
          const res = validateNativeBlock(host.subarray(0, bad.length), OPTS);
          if (!res.ok) expect(res.error).not.toMatch(/could not be read/);
          else expect(res.payload.length).toBeGreaterThan(0);
        },
      ),
      { numRuns: 400 },
    );
  });

  it("an empty block still has to name the required columns", () => {
    const res = validateNativeBlock(
      encodeNativeBlock("l4_flow_log", [], { columns: ["flow_id", "close_type"] }),
      {
        ...OPTS,
        table: "l4_flow_log",
      },
    );
    expect(res).toMatchObject({
      ok: false,
      error: expect.stringMatching(/does not carry column start_time/),
    });
  });
});

describe("encodeNativeBlock", () => {
  it("throws NativeEncodeError for values that do not fit the wire type", () => {
    expect(() => encodeNativeBlock("l4_flow_log", rows(2, { server_port: 70000 }))).toThrow(
      new NativeEncodeError("row 0, column server_port: expected an integer 0-65535 (got 70000)"),
    );
    expect(() => encodeNativeBlock("l4_flow_log", rows(1, { client_ip: "10.0.0.256" }))).toThrow(
      /column client_ip/,
    );
    expect(() => encodeNativeBlock("l4_flow_log", rows(1, { close_type: "FIN" }))).toThrow(
      /column close_type/,
    );
    expect(() => encodeNativeBlock("l4_flow_log", rows(1, { flow_id: "18446744073709551616" }))).toThrow(
      /column flow_id/,
    );
  });

  it("writes addresses as ClickHouse's IPv6 bytes", () => {
    const out = new Uint8Array(16);
    const hex = (s: string) => (writeIp(s, out, 0) ? Buffer.from(out).toString("hex") : "bad");
    expect(hex("10.0.0.1")).toBe("00000000000000000000ffff0a000001");
    expect(hex("2001:db8::1")).toBe("20010db8000000000000000000000001");
    expect(hex("::")).toBe("00000000000000000000000000000000");
    expect(hex("64:ff9b::10.0.0.1")).toBe("0064ff9b0000000000000000" + "0a000001");
    expect(hex("1:2:3:4:5:6:7:8")).toBe("00010002000300040005000600070008");
    for (const bad of ["1.2.3", "01.2.3.4", "1::2::3", "1:2:3:4:5:6:7:8:9", ":1::", "g::1", "1.2.3.4.5"])
      expect(hex(bad)).toBe("bad");
  });
});
