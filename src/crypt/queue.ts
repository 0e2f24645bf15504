/** The client that asked has gone away: its verification was dropped before it ran. */
export class Abandoned extends Error {
  override readonly name = 'Abandoned';
}

interface Waiter {
  readonly start: () => void;
  readonly signal: AbortSignal | undefined;
  cancelled: boolean;
}

/**
 * At most `limit` hash computations run at once; the rest wait here, first
 * come first served. The daemon, not the FFI, owns this queue: koffi refuses
 * asynchronous calls past 256 in flight, and a refusal there would fail
 * logins that only needed to wait. A waiter whose client went away leaves
 * the queue at once, so abandoned requests never hold up live ones.
 */
export class VerifyQueue {
  private running = 0;
  private readonly waiting: Waiter[] = [];
  private head = 0;

  constructor(readonly limit: number) {}

  run<T>(job: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(new Abandoned('client gone before its verification started'));
    if (this.running < this.limit) return this.start(job);
    return new Promise<T>((resolve, reject) => {
      const w: Waiter = {
        signal,
        cancelled: false,
        start: () => {
          signal?.removeEventListener('abort', onAbort);
          this.start(job).then(resolve, reject);
        },
      };
      const onAbort = () => {
        w.cancelled = true;
        reject(new Abandoned('client gone while its verification waited'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(w);
    });
  }

  get queued(): number {
    return this.waiting.length - this.head;
  }

  private async start<T>(job: () => Promise<T>): Promise<T> {
    this.running++;
    try {
      return await job();
    } finally {
      this.running--;
      this.next();
    }
  }

  private next(): void {
    while (this.head < this.waiting.length && this.running < this.limit) {
      const w = this.waiting[this.head++]!;
      if (!w.cancelled) w.start();
    }
    // Compact now and then instead of shifting on every dequeue.
    if (this.head > 1024 && this.head * 2 > this.waiting.length) {
      this.waiting.splice(0, this.head);
      this.head = 0;
    }
  }
}
