/**
 * Runs `job` after changes, never two at once: changes that arrive while it
 * runs cause exactly one more run, `gapMs` after the last ended. A burst of
 * logins is a few rebuilds, not a storm of them: under a steady stream of
 * changes the job (postmap, tcprules) runs at most once per its own time
 * plus the gap, however fast the logins come.
 */
export class Coalescer {
  private running = false;
  private again = false;
  private idle: Promise<void> = Promise.resolve();
  private settle: (() => void) | undefined;

  constructor(
    private readonly job: () => Promise<void>,
    private readonly onError: (err: Error) => void,
    private readonly delayMs = 20,
    private readonly gapMs = 200,
  ) {}

  poke(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    this.idle = new Promise((r) => (this.settle = r));
    // Not unref'd: a short-lived process (checkpassword) must not exit before its files are written.
    setTimeout(() => void this.loop(), this.delayMs);
  }

  private async loop(): Promise<void> {
    let first = true;
    do {
      // Changes that keep coming while the last run ended are gathered for a moment, then written in one.
      if (!first) await new Promise((r) => setTimeout(r, this.gapMs));
      first = false;
      this.again = false;
      try {
        await this.job();
      } catch (err) {
        this.onError(err as Error);
      }
    } while (this.again);
    this.running = false;
    this.settle?.();
  }

  /** Resolves when no run is pending. */
  drained(): Promise<void> {
    return this.idle;
  }
}
