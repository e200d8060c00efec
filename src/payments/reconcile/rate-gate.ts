/**
 * At most `perSecond` passes per second, spaced evenly: UMS rate-limits merchants, and a
 * reconciliation of a busy day must not crowd out the payments being made meanwhile.
 */
export class RateGate {
  readonly #gapMs: number;
  #next = 0;

  constructor(perSecond: number) {
    this.#gapMs = perSecond > 0 ? 1000 / perSecond : 0;
  }

  /** Waits for this caller's slot; false when `signal` aborted first. */
  async wait(signal: AbortSignal): Promise<boolean> {
    const now = Date.now();
    const slot = Math.max(now, this.#next);
    this.#next = slot + this.#gapMs;
    const delay = slot - now;
    if (delay > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, delay);
        function done() {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          resolve();
        }
        signal.addEventListener('abort', done, { once: true });
      });
    }
    return !signal.aborted;
  }
}
