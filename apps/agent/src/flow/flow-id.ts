/**
 * Decimal text of the engine's 64-bit flow ids, `high | seq` with `seq` below 2^27 (the low bits
 * `high` leaves clear): made per flow for its L4 rows and its L7 rows, without a BigInt and its
 * toString per id.
 */
export class FlowIdText {
  /** high = top * 1e9 + low; top < 2^35, both exact as numbers. */
  private readonly top: number;
  private readonly low: number;
  /** of()'s two parts (see parts). */
  private readonly scratch = new Float64Array(2);

  constructor(high: bigint) {
    if ((high & 0x7ffffffn) !== 0n || high < 0n || high >= 1n << 64n)
      throw new Error("FlowIdText: the high part must be a u64 with its 27 low bits clear");
    this.top = Number(high / 1_000_000_000n);
    this.low = Number(high % 1_000_000_000n);
  }

  /** The id of `seq` as `of` writes it, in two numbers: out[at] its digits above the last nine (0: none), out[at + 1] those nine. */
  parts(seq: number, out: Float64Array, at: number): void {
    let rest = this.low + (seq & 0x7ffffff);
    let top = this.top;
    if (rest >= 1e9) {
      rest -= 1e9;
      top++;
    }
    out[at] = top;
    out[at + 1] = rest;
  }

  of(seq: number): string {
    const p = this.scratch;
    this.parts(seq, p, 0);
    const top = p[0]!;
    const rest = p[1]!;
    if (top === 0) return String(rest);
    // 1e9 + rest has rest's nine digits, zero-padded, after its leading 1.
    return String(top) + String(1e9 + rest).slice(1);
  }
}
