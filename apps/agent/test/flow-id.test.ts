import { describe, expect, it } from "vitest";
import { FlowIdText } from "../src/flow/flow-id.ts";
import { Rng } from "../src/testing/rng.ts";

/** A high part whose last nine digits are within 2^26 of 1e9: half the seqs carry past them. */
function nearCarry(): bigint {
  for (let k = 1n << 30n; ; k++)
    if ((k << 27n) % 1_000_000_000n > 1_000_000_000n - (1n << 26n)) return k << 27n;
}

const big = (high: bigint, seq: number) => (high | BigInt(seq)).toString();

describe("FlowIdText", () => {
  it("writes high | seq as BigInt does, carries and zero padding included", () => {
    const rng = new Rng(11);
    const highs = [
      0n,
      1n << 27n,
      (BigInt(1_795_761_352) << 32n) | (3n << 27n),
      (0xffffffffn << 32n) | (31n << 27n),
      nearCarry(),
      1_000_000_000n << 27n,
    ];
    for (const h of highs) {
      const t = new FlowIdText(h);
      for (const seq of [0, 1, 9, 10, 0x7ffffff, 123_456_789]) expect(t.of(seq)).toBe(big(h, seq));
      for (let i = 0; i < 2000; i++) {
        const seq = rng.int(0x8000000);
        expect(t.of(seq)).toBe(big(h, seq));
      }
    }
  });

  it("refuses a high part with low bits set", () => {
    expect(() => new FlowIdText(5n)).toThrow(/27 low bits/);
  });
});
