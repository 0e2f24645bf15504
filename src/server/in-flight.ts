/**
 * Requests being checked on a listener, so a stop can let them answer
 * before the connections close (a restart must not fail the logins the MTA
 * is waiting on), yet never wait past a grace period.
 */
export class InFlight {
  private count = 0;
  private waiters: Array<() => void> = [];

  begin(): void {
    this.count++;
  }

  end(): void {
    if (--this.count > 0) return;
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Resolves when nothing is in flight, or after `graceMs`, whichever comes first. */
  async settled(graceMs: number): Promise<void> {
    if (this.count === 0) return;
    await Promise.race([new Promise<void>((r) => this.waiters.push(r)), new Promise((r) => setTimeout(r, graceMs).unref())]);
  }
}
