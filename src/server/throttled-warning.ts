import type { Logger } from '../log.js';

/** Causes named in one summary line; the rest are only counted. */
const CAUSES_SHOWN = 4;

/**
 * A warning any local client can provoke (a refused or a misbehaving
 * connection) comes in floods, and a line for each would let it fill the
 * log. The first after a quiet period is logged at once; later ones are
 * counted, and one line a period says how many there were and why.
 */
export class ThrottledWarning {
  private readonly counts = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  /** `what` names one event and many, e.g. connection refused / connections refused. */
  constructor(private readonly log: Logger, private readonly what: { readonly one: string; readonly many: string }, private readonly periodMs = 10_000) {}

  warn(cause: string): void {
    if (this.timer === undefined) {
      this.log.warn(`${this.what.one}: ${cause}`);
      this.startPeriod();
      return;
    }
    this.counts.set(cause, (this.counts.get(cause) ?? 0) + 1);
  }

  private startPeriod(): void {
    this.timer = setTimeout(() => this.endPeriod(), this.periodMs);
    this.timer.unref();
  }

  private endPeriod(): void {
    this.timer = undefined;
    if (this.counts.size === 0) return;
    this.flush();
    // Still going: the next period is counted too, rather than its first event logged alone.
    this.startPeriod();
  }

  private flush(): void {
    let total = 0;
    for (const n of this.counts.values()) total += n;
    const ranked = [...this.counts].sort((a, b) => b[1] - a[1]);
    const shown = ranked.slice(0, CAUSES_SHOWN).map(([cause, n]) => `${n}: ${cause}`);
    if (ranked.length > CAUSES_SHOWN) shown.push(`${ranked.length - CAUSES_SHOWN} other causes`);
    this.log.warn(`${total} more ${total === 1 ? this.what.one : this.what.many} in the last ${Math.round(this.periodMs / 1000)} s (${shown.join('; ')})`);
    this.counts.clear();
  }

  /** Says what is still counted, so stopping loses nothing. */
  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.counts.size > 0) this.flush();
  }
}
