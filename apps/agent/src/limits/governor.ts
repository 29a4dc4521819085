/**
 * The overload governor: keeps the agent inside its group's limits (`config.limits`) and says
 * where it stands. Packets pass `admit()` on the hot path (a few additions and compares); once a
 * second `tick()` looks at what came in, what the process costs (CPU, RSS) and what was sent, and
 * moves one step at a time:
 *
 *   0 normal -> 1 shedding (sample packets, hold rows) -> 2 protective (no L7 parsing)
 *            -> 3 capture_stopped (no packets; sync and export go on)
 *
 * Rate caps (maxPps, maxBps, maxSendRowsPerS) are enforced at every step by token buckets, so the
 * processed rate never exceeds them; offered load above a cap puts the governor into step 1 at
 * once. CPU or memory above its limit for `escalateAfterS` seconds in a row moves it one step up
 * (step 1 also cuts the sampler's keep ratio in proportion). Recovery is one step down per
 * `recoverAfterS` seconds in a row with every measure below `recoverBelow` of its limit: the gap
 * between 80 % and 100 % is the hysteresis that stops it flapping. Thresholds and the why of
 * each are in docs/overload-limits.md.
 */
import type { TAgentConfig, TAgentOverload, TAgentRunState, TOverloadStep } from "@flowplane/protocol";

export type TLimits = TAgentConfig["limits"];

/** What the meter measured over the last second. */
export interface LoadSample {
  /** Process CPU (all threads) as a percentage of the whole host, like maxCpuPct. */
  cpuHostPct: number;
  rssBytes: number;
}

export interface GovernorOptions {
  /** Milliseconds; tests pass a fake clock. */
  now?: () => number;
  /** Seconds a CPU/memory limit must be exceeded in a row before one step up. */
  escalateAfterS?: number;
  /** Seconds every measure must stay below `recoverBelow` of its limit before one step down. */
  recoverAfterS?: number;
  recoverBelow?: number;
}

export const GOVERNOR_DEFAULTS = { escalateAfterS: 3, recoverAfterS: 5, recoverBelow: 0.8 } as const;

export const STEPS: readonly TOverloadStep[] = ["normal", "shedding", "protective", "capture_stopped"];
export const CAPTURE_STOPPED = 3;
export const PROTECTIVE = 2;
/** The lowest keep ratio CPU pressure drives the sampler to (1 packet in 100). */
const MIN_LOAD_KEEP = 0.01;
/**
 * The sampler aims above the cap so the token bucket, not the sampler, is what binds: the offered
 * rate it is aimed with is last second's, and a busy host makes it jump (1.05 left a quarter of
 * the budget unused in the integration test; 1.2 costs the last sixth of a second when it holds).
 */
const RATE_KEEP_SLACK = 1.2;
/** A bytes/s bucket always holds at least one full-size packet. */
const MIN_BYTE_BUCKET = 65_536;

type StepListener = (level: number, previous: number) => void;

export class Governor {
  private limits: TLimits | undefined;
  private level_ = 0;
  private reason_ = "";
  private readonly now: () => number;
  private readonly escalateAfterS: number;
  private readonly recoverAfterS: number;
  private readonly recoverBelow: number;
  private readonly startedAt: number;
  private lastTick: number;
  private overFor = 0;
  private calmFor = 0;
  private readonly listeners: StepListener[] = [];

  // The sampler: an accumulator lets `keep` of every packet through, evenly spread.
  private keep = 1;
  private rateKeep = 1;
  private loadKeep = 1;
  private acc = 0;
  private pktTokens = Number.POSITIVE_INFINITY;
  private byteTokens = Number.POSITIVE_INFINITY;
  private rowTokens = Number.POSITIVE_INFINITY;
  private rowsRefilledAt: number;

  // This second so far.
  private wOffered = 0;
  private wOfferedBytes = 0;
  private wProcessed = 0;
  private wShed = 0;
  private wSentRows = 0;
  private wHeldRows = 0;

  private readonly totals = {
    offeredPackets: 0,
    processedPackets: 0,
    shedPackets: 0,
    shedBytes: 0,
    stoppedPackets: 0,
    sentRows: 0,
    heldRows: 0,
    escalations: 0,
  };
  private cpuHostPct = 0;

  constructor(limits: TLimits | undefined, o: GovernorOptions = {}) {
    this.now = o.now ?? Date.now;
    this.escalateAfterS = o.escalateAfterS ?? GOVERNOR_DEFAULTS.escalateAfterS;
    this.recoverAfterS = o.recoverAfterS ?? GOVERNOR_DEFAULTS.recoverAfterS;
    this.recoverBelow = o.recoverBelow ?? GOVERNOR_DEFAULTS.recoverBelow;
    this.startedAt = this.now();
    this.lastTick = this.startedAt;
    this.rowsRefilledAt = this.startedAt;
    this.setLimits(limits);
  }

  get level(): number {
    return this.level_;
  }

  get step(): TOverloadStep {
    return STEPS[this.level_] as TOverloadStep;
  }

  get reason(): string {
    return this.reason_;
  }

  /** What the heartbeat says the agent is doing while it runs. */
  get runState(): TAgentRunState {
    return this.level_ === 0 ? "running" : this.level_ === 1 ? "degraded" : "protective";
  }

  /** Told after every step change (L7 off at 2, capture stopped at 3, and back). */
  onStep(fn: StepListener): void {
    this.listeners.push(fn);
  }

  /**
   * New limits (a configuration revision), applied at once: buckets start full at the new caps;
   * the current step stays and recovers by the usual rule. `undefined` switches the governor off
   * (runs without a controller have no group limits) and returns it to normal.
   */
  setLimits(limits: TLimits | undefined): void {
    // A revision that changes something else (timeouts, L7) leaves the buckets as they are: a
    // refill here would hand out a second budget within the same second.
    if (limits && this.limits && sameLimits(limits, this.limits)) return;
    this.limits = limits;
    if (!limits) {
      this.pktTokens = this.byteTokens = this.rowTokens = Number.POSITIVE_INFINITY;
      this.rateKeep = this.loadKeep = 1;
      this.keep = 1;
      this.overFor = this.calmFor = 0;
      this.moveTo(0, "");
      return;
    }
    this.pktTokens = limits.maxPps;
    this.byteTokens = Math.max(limits.maxBps, MIN_BYTE_BUCKET);
    this.rowTokens = limits.maxSendRowsPerS;
    this.rowsRefilledAt = this.now();
    // The sampler's rate share was computed for the old caps: start open, the next tick re-aims it.
    this.rateKeep = 1;
    this.keep = this.loadKeep;
  }

  /** Hot path: may this packet go on to the flow engine? Counts it either way. */
  admit(wireLen: number): boolean {
    this.wOffered++;
    this.wOfferedBytes += wireLen;
    if (this.level_ === CAPTURE_STOPPED) {
      this.totals.stoppedPackets++;
      return false;
    }
    this.acc += this.keep;
    if (this.acc >= 1) {
      this.acc -= 1;
      if (this.pktTokens >= 1 && this.byteTokens >= wireLen) {
        this.pktTokens -= 1;
        this.byteTokens -= wireLen;
        this.wProcessed++;
        return true;
      }
    }
    this.wShed++;
    this.totals.shedBytes += wireLen;
    return false;
  }

  /**
   * May a batch of `rows` be sent now? A bucket refilled continuously at maxSendRowsPerS; a batch
   * goes whenever the bucket is not empty and may take it below zero (a batch is bigger than a
   * small limit), so the long-run rate is the limit.
   */
  takeRows(rows: number): boolean {
    if (!this.limits) {
      this.wSentRows += rows;
      return true;
    }
    const now = this.now();
    const cap = this.limits.maxSendRowsPerS;
    this.rowTokens = Math.min(cap, this.rowTokens + (cap * (now - this.rowsRefilledAt)) / 1000);
    this.rowsRefilledAt = now;
    if (this.rowTokens <= 0) return false;
    this.rowTokens -= rows;
    this.wSentRows += rows;
    return true;
  }

  /**
   * Rows per ingest batch under the send-rate limit: at most one second's worth (not below 100),
   * so a small limit sends a little every second instead of one big batch and a long wait.
   */
  sendBatchRows(max: number): number {
    return this.limits ? Math.min(max, Math.max(100, this.limits.maxSendRowsPerS)) : max;
  }

  /** Rows the send-rate limit kept back (they wait in the spool). */
  heldRows(rows: number): void {
    this.wHeldRows += rows;
  }

  /** Once a second: rates of the second that ended, buckets refilled, at most one step taken. */
  tick(sample: LoadSample): void {
    const now = this.now();
    const dt = Math.max(0.001, (now - this.lastTick) / 1000);
    this.lastTick = now;
    const offeredPps = this.wOffered / dt;
    const offeredBps = this.wOfferedBytes / dt;
    const sentRowsPerS = this.wSentRows / dt;
    const heldRows = this.wHeldRows;
    const t = this.totals;
    t.offeredPackets += this.wOffered;
    t.processedPackets += this.wProcessed;
    t.shedPackets += this.wShed;
    t.sentRows += this.wSentRows;
    t.heldRows += this.wHeldRows;
    this.wOffered = this.wOfferedBytes = this.wProcessed = this.wShed = this.wSentRows = this.wHeldRows = 0;
    this.cpuHostPct = sample.cpuHostPct;
    const L = this.limits;
    if (!L) return;

    this.pktTokens = Math.min(L.maxPps, this.pktTokens + L.maxPps * dt);
    const byteCap = Math.max(L.maxBps, MIN_BYTE_BUCKET);
    this.byteTokens = Math.min(byteCap, this.byteTokens + L.maxBps * dt);
    // Spread next second's budget over the whole second instead of spending it at its start.
    this.rateKeep = Math.min(
      1,
      offeredPps > 0 ? (RATE_KEEP_SLACK * L.maxPps) / offeredPps : 1,
      offeredBps > 0 ? (RATE_KEEP_SLACK * L.maxBps) / offeredBps : 1,
    );

    const cpuOver = sample.cpuHostPct > L.maxCpuPct;
    const memOver = sample.rssBytes > L.maxMemBytes;
    const inputOver = offeredPps > L.maxPps || offeredBps > L.maxBps || heldRows > 0;
    const b = this.recoverBelow;
    const resourceCalm = sample.cpuHostPct < b * L.maxCpuPct && sample.rssBytes < b * L.maxMemBytes;
    const inputCalm =
      offeredPps < b * L.maxPps &&
      offeredBps < b * L.maxBps &&
      heldRows === 0 &&
      sentRowsPerS < b * L.maxSendRowsPerS;
    const over = describe(L, sample, offeredPps, offeredBps, sentRowsPerS, heldRows);

    if (cpuOver || memOver) {
      this.overFor++;
      this.calmFor = 0;
      // In step 1 and above, sample harder in proportion to the CPU overshoot (memory: halve).
      if (this.level_ >= 1) {
        const f = cpuOver ? Math.min(0.9, L.maxCpuPct / sample.cpuHostPct) : 0.5;
        this.loadKeep = Math.max(MIN_LOAD_KEEP, this.loadKeep * f);
      }
      if (this.overFor >= this.escalateAfterS && this.level_ < CAPTURE_STOPPED) {
        this.overFor = 0;
        t.escalations++;
        this.moveTo(this.level_ + 1, over);
      }
    } else {
      this.overFor = 0;
    }
    if (inputOver && this.level_ === 0) {
      t.escalations++;
      this.moveTo(1, over);
    }
    // While something is still over, the reason carries this second's numbers.
    if (this.level_ > 0 && over !== "") this.reason_ = over;

    // Step 1 needs calm input too (shedding is what holds input back); steps 2 and 3 only wait
    // for CPU and memory, input above the caps is then left to step 1.
    const calm = resourceCalm && (this.level_ >= 2 || inputCalm);
    if (resourceCalm) this.loadKeep = Math.min(1, this.loadKeep * 2);
    if (calm && this.level_ > 0) {
      if (++this.calmFor >= this.recoverAfterS) {
        this.calmFor = 0;
        this.moveTo(this.level_ - 1, this.level_ - 1 === 0 ? "" : this.reason_);
      }
    } else this.calmFor = 0;
    if (this.level_ === 0) this.loadKeep = 1;
    this.keep = this.rateKeep * this.loadKeep;
  }

  /** The heartbeat's `overload` object. */
  report(): TAgentOverload {
    const t = this.totals;
    return {
      step: this.step,
      reason: this.reason_.slice(0, 512),
      elapsedS: Math.max(0, (this.lastTick - this.startedAt) / 1000),
      offeredPackets: t.offeredPackets,
      processedPackets: t.processedPackets,
      shedPackets: t.shedPackets,
      shedBytes: t.shedBytes,
      stoppedPackets: t.stoppedPackets,
      keepRatio: Math.min(1, Math.max(0, this.keep)),
      sentRows: t.sentRows,
      heldRows: t.heldRows,
      cpuHostPct: Math.max(0, this.cpuHostPct),
      escalations: t.escalations,
    };
  }

  private moveTo(level: number, reason: string): void {
    const previous = this.level_;
    this.reason_ = reason;
    if (level === previous) return;
    this.level_ = level;
    for (const fn of this.listeners) fn(level, previous);
  }
}

const MiB = 1024 * 1024;

function sameLimits(a: TLimits, b: TLimits): boolean {
  return (
    a.maxCpuPct === b.maxCpuPct &&
    a.maxMemBytes === b.maxMemBytes &&
    a.maxPps === b.maxPps &&
    a.maxBps === b.maxBps &&
    a.maxSendRowsPerS === b.maxSendRowsPerS
  );
}

/** Every limit exceeded now, in words with numbers: the reason the heartbeat carries. */
function describe(
  L: TLimits,
  s: LoadSample,
  pps: number,
  bps: number,
  rowsPerS: number,
  heldRows: number,
): string {
  const parts: string[] = [];
  if (s.cpuHostPct > L.maxCpuPct) {
    parts.push(`CPU ${s.cpuHostPct.toFixed(0)}% of host above maxCpuPct ${L.maxCpuPct}`);
  }
  if (s.rssBytes > L.maxMemBytes) {
    parts.push(
      `memory ${(s.rssBytes / MiB).toFixed(0)} MiB above maxMemBytes ${(L.maxMemBytes / MiB).toFixed(0)} MiB`,
    );
  }
  if (pps > L.maxPps) parts.push(`${Math.round(pps)} packets/s above maxPps ${L.maxPps}`);
  if (bps > L.maxBps) parts.push(`${Math.round(bps)} bytes/s above maxBps ${L.maxBps}`);
  if (heldRows > 0) {
    parts.push(
      `${heldRows} rows held in the spool: ${Math.round(rowsPerS)} rows/s at maxSendRowsPerS ${L.maxSendRowsPerS}`,
    );
  }
  return parts.join("; ");
}
