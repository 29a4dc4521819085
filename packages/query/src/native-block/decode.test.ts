import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ROW_TABLES } from "../rows/index.ts";
import { agentL4Row as l4Row, networkRow } from "../testing-fixtures.ts";
import { l4Rows } from "./arbitraries.ts";
import { decodeNativeBlock, ipText, NativeDecodeError } from "./decode.ts";
import { encodeNativeBlock, writeIp } from "./encode.ts";

const L4: { columns: Record<string, { tsv: (v: unknown) => string | undefined }> } = ROW_TABLES.l4_flow_log;

describe("decodeNativeBlock", () => {
  it("gives rows that encode to the same block and that every column's TSV check accepts", () => {
    fc.assert(
      fc.property(
        l4Rows(40),
        fc.constantFrom("lowCardinality", "string") as fc.Arbitrary<"lowCardinality" | "string">,
        (rows, tokens) => {
          const block = encodeNativeBlock("l4_flow_log", rows, { tokens });
          const back = decodeNativeBlock("l4_flow_log", block);
          expect(encodeNativeBlock("l4_flow_log", back, { tokens })).toEqual(block);
          const refused = back.flatMap((r) =>
            Object.entries(r).filter(([name, v]) => L4.columns[name]?.tsv(v) === undefined),
          );
          expect(refused).toEqual([]);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("reads the agent's own rows back in their wire form", () => {
    const rows = [
      l4Row({ flow_id: "18446744073709551615", client_ip: "10.0.0.1", tunnel_outer_src: "" }),
      l4Row({ flow_id: "7", client_ip: "2001:db8::1", server_ip: "fe80::2", tunnel_outer_src: "192.0.2.9" }),
    ];
    const back = decodeNativeBlock("l4_flow_log", encodeNativeBlock("l4_flow_log", rows));
    expect(back.map((r) => [r.flow_id, r.client_ip, r.server_ip, r.tunnel_outer_src])).toEqual([
      ["18446744073709551615", "10.0.0.1", rows[0]?.server_ip, ""],
      ["7", "2001:db8::1", "fe80::2", "192.0.2.9"],
    ]);
    expect(back[1]).toEqual({ ...rows[1] });
    const m = [networkRow(), networkRow({ server_port: 4 })].map(({ org_id: _o, agent_id: _a, ...r }) => r);
    expect(decodeNativeBlock("network_metrics", encodeNativeBlock("network_metrics", m))).toEqual(m);
  });

  it("writes IPv6 text in RFC 5952 form", () => {
    const b = Buffer.alloc(16);
    for (const [input, text] of [
      ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
      ["2001:db8:0:1:2:3:4:5", "2001:db8:0:1:2:3:4:5"],
      ["::", "::"],
      ["::1", "::1"],
      ["fe80::", "fe80::"],
      ["::ffff:1.2.3.4", "1.2.3.4"],
    ] as const) {
      expect(writeIp(input, b, 0)).toBe(true);
      expect(ipText(b, 0)).toBe(text);
    }
  });

  it("refuses a block cut short or with trailing bytes, never returns part of one", () => {
    const block = encodeNativeBlock("l4_flow_log", [l4Row(), l4Row()]);
    for (const cut of [1, 10, block.length >> 1, block.length - 1])
      expect(() => decodeNativeBlock("l4_flow_log", block.subarray(0, cut))).toThrow(NativeDecodeError);
    expect(() => decodeNativeBlock("l4_flow_log", Buffer.concat([block, Buffer.from([0])]))).toThrow(
      /after the block/,
    );
  });

  it("refuses a row count its bytes cannot hold (no columns, or more rows than bytes) before building rows", () => {
    // 0 columns, 100 000 rows: without the check, 100 000 empty rows (2^32-1 of them: the agent stuck).
    expect(() => decodeNativeBlock("l4_flow_log", Buffer.from([0x00, 0xa0, 0x8d, 0x06]))).toThrow(
      NativeDecodeError,
    );
    // 0 columns, 2^32 rows: a RangeError from new Array without the check.
    expect(() => decodeNativeBlock("l4_flow_log", Buffer.from([0x00, 0x80, 0x80, 0x80, 0x80, 0x10]))).toThrow(
      NativeDecodeError,
    );
    // Every column takes at least a byte a row: 1 column, 2^40 rows in a few bytes.
    const head = encodeNativeBlock("l4_flow_log", [l4Row()]);
    const lying = Buffer.concat([
      Buffer.from([head[0] as number, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20]),
      head.subarray(2),
    ]);
    expect(() => decodeNativeBlock("l4_flow_log", lying)).toThrow(/row count/);
  });
});
