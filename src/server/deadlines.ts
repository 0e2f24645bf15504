import type { Socket } from 'node:net';

/**
 * When each connection must have moved on, checked by one timer for all of
 * them: thousands of connections cost one interval, not a timer each. The
 * timer runs only while some deadline is set.
 */
export class Deadlines {
  private readonly due = new Map<Socket, number>();
  private timer: NodeJS.Timeout | undefined;

  /** `expired` is called once for a socket whose deadline passed; it is expected to close it. */
  constructor(private readonly expired: (s: Socket) => void, private readonly checkEveryMs: number) {}

  /** Replaces any deadline `s` had: it must move on within `ms`. */
  set(s: Socket, ms: number): void {
    this.due.set(s, performance.now() + ms);
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.sweep(), this.checkEveryMs);
      this.timer.unref();
    }
  }

  delete(s: Socket): void {
    this.due.delete(s);
  }

  private sweep(): void {
    const now = performance.now();
    for (const [s, at] of this.due) {
      if (now < at) continue;
      this.due.delete(s);
      this.expired(s);
    }
    if (this.due.size === 0) this.stop();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** How often to look: a fraction of the shortest timeout, within sensible bounds. */
export function sweepPeriod(shortestTimeoutMs: number): number {
  return Math.max(50, Math.min(1000, shortestTimeoutMs / 4));
}
