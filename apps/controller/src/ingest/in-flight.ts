/**
 * A bounded count of batches being processed by this process. Past the bound the controller
 * answers 429 with Retry-After instead of queueing: the agent keeps the batch and retries, so a
 * slow ClickHouse turns into back-pressure at the agents, not into controller memory.
 */
export class InFlightLimiter {
  private current = 0;
  constructor(readonly max: number) {}

  tryAcquire(): boolean {
    if (this.current >= this.max) return false;
    this.current += 1;
    return true;
  }

  release(): void {
    if (this.current > 0) this.current -= 1;
  }

  get inFlight(): number {
    return this.current;
  }
}
