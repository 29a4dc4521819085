/**
 * Seeded pseudo-random numbers for tests (the differential fuzz tests' traffic generators, the
 * application-metrics test): the same sequence on every machine and run.
 */

/** mulberry32: small, fast and the same everywhere. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  u32(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** [0, n) */
  int(n: number): number {
    return Math.floor((this.u32() / 4294967296) * n);
  }
  /** [a, b] */
  range(a: number, b: number): number {
    return a + this.int(b - a + 1);
  }
  chance(p: number): boolean {
    return this.u32() < p * 4294967296;
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)]!;
  }
}
