/**
 * A bounded count of batches being processed by this process. Past the bound the controller
 * answers 429 with Retry-After instead of queueing: the agent keeps the batch and retries, so a
 * slow ClickHouse turns into back-pressure at the agents, not into controller memory.
 *
 * It also counts, for the whole process, the admitted batches that have not reached a writer yet
 * (`batchesArriving`): the coalescer flushes as soon as that is zero, since lingering longer cannot
 * add a batch to the insert, only latency.
 */
export class InFlightLimiter {
  private current = 0;
  constructor(readonly max: number) {}

  tryAcquire(): boolean {
    if (this.current >= this.max) return false;
    this.current += 1;
    return true;
  }

  /**
   * `tryAcquire` with a ticket for the batch: `arrived()` once its rows reach a writer's queue (or
   * it ends without), `release()` when its answer is sent (it calls `arrived()` too). Both are
   * idempotent. Undefined past the bound.
   */
  admit(): TIngestTicket | undefined {
    if (!this.tryAcquire()) return undefined;
    arriving += 1;
    let here = true;
    let held = true;
    const arrived = () => {
      if (!here) return;
      here = false;
      arriving -= 1;
      if (arriving === 0) for (const w of [...arrivalWaiters]) w();
    };
    return {
      arrived,
      release: () => {
        arrived();
        if (!held) return;
        held = false;
        this.release();
      },
    };
  }

  release(): void {
    if (this.current > 0) this.current -= 1;
  }

  get inFlight(): number {
    return this.current;
  }
}

export type TIngestTicket = { arrived(): void; release(): void };

let arriving = 0;
const arrivalWaiters = new Set<() => void>();

/** Batches admitted by this process (any limiter in it) whose rows have not reached a writer yet. */
export function batchesArriving(): number {
  return arriving;
}

/** Calls `wake` whenever the count of arriving batches falls to zero; returns the unsubscriber. */
export function onAllArrived(wake: () => void): () => void {
  arrivalWaiters.add(wake);
  return () => arrivalWaiters.delete(wake);
}
