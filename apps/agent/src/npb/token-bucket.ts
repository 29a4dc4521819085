/**
 * Per-policy bandwidth cap. Refilled from packet timestamps, not the wall clock, so a replayed
 * capture is capped as it was recorded and tests are deterministic; live capture timestamps are
 * the wall clock anyway.
 */
export class TokenBucket {
  private tokens: number;
  private last = -1;
  private readonly bytesPerMicro: number;

  constructor(
    mbps: number,
    readonly burstBytes: number,
  ) {
    this.bytesPerMicro = (mbps * 1e6) / 8 / 1e6;
    this.tokens = burstBytes;
  }

  /** Default depth: 10 ms of the rate, at least 64 KiB (a few jumbo frames pass a small cap). */
  static defaultBurst(mbps: number): number {
    return Math.max(65536, Math.round(((mbps * 1e6) / 8) * 0.01));
  }

  /** Takes `bytes` if available at time `tsMicros`; false = over the cap (drop). */
  take(bytes: number, tsMicros: number): boolean {
    if (this.last >= 0 && tsMicros > this.last) {
      this.tokens = Math.min(this.burstBytes, this.tokens + (tsMicros - this.last) * this.bytesPerMicro);
    }
    if (tsMicros > this.last) this.last = tsMicros;
    if (this.tokens < bytes) return false;
    this.tokens -= bytes;
    return true;
  }
}
