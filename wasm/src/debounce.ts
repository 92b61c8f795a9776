/*
 * Adaptive debounce shared by the VS Code extension and the Monaco package. The engine is one
 * thread: a request that starts while the user is still typing can only delay the next one. So
 * the wait depends on what completions have cost lately against how fast requests come (both
 * exponential averages): when a completion fits between two keystrokes there is nothing to save
 * and the wait is the floor; when it does not, the wait grows with its cost, up to the user's
 * ceiling, so that requests start in pauses of typing.
 */
export class AdaptiveDebounce {
  private avgCostMs: number;
  private avgGapMs = 1000;
  private lastGapMs = 1000;
  private lastRequest = -Infinity;

  constructor(public minMs = 0, public maxMs = 75, initialCostMs = 30) {
    this.avgCostMs = initialCostMs;
  }

  /** The wait before the next request, in milliseconds. */
  get delayMs(): number {
    if (this.avgCostMs < 0.8 * this.avgGapMs) return this.minMs;
    return Math.max(this.minMs, Math.min(this.maxMs, this.avgCostMs));
  }

  /** The expected time to the next keystroke: the average gap, or less when the last one was
   * shorter (the first keys of a burst after a pause). */
  get paceMs(): number {
    return Math.min(this.avgGapMs, this.lastGapMs);
  }

  /** The time budget of the next request: the configured one while keystrokes come slower than
   * it, else cut to what fits before the next keystroke once `spentMs` have gone since this one
   * (the debounce, waiting for an earlier request; never below `minBudgetMs`), so that one request
   * does not hold up the next keystroke's: a cut answer is shorter, not lost, and typing through
   * it serves the keys after it. 0 (none) stays 0. */
  budgetMs(configuredMs: number, spentMs = this.delayMs, minBudgetMs = 40): number {
    if (!(configuredMs > 0)) return configuredMs;
    const fit = 0.7 * this.paceMs - spentMs;
    return Math.round(Math.max(Math.min(minBudgetMs, configuredMs), Math.min(configuredMs, fit)));
  }

  /** Feeds the cost of a completed request (from sending it to its answer). */
  record(costMs: number): void {
    if (Number.isFinite(costMs) && costMs >= 0) this.avgCostMs = 0.7 * this.avgCostMs + 0.3 * costMs;
  }

  /** Notes a keystroke (a request for the editor) without waiting: one served without the engine. */
  note(): void {
    const now = performance.now();
    const gap = Math.min(1000, now - this.lastRequest);
    this.lastRequest = now;
    this.lastGapMs = gap;
    this.avgGapMs = 0.7 * this.avgGapMs + 0.3 * gap;
  }

  /** Notes a request (a keystroke, for the editor) and resolves true after the delay, or false as
   * soon as the signal aborts. */
  wait(signal?: AbortSignal): Promise<boolean> {
    this.note();
    const ms = this.delayMs;
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve(false);
      if (ms <= 0) return resolve(true);
      const onAbort = () => {
        clearTimeout(t);
        resolve(false);
      };
      const t = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve(true);
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}
