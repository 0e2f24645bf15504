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
  /** Two lanes: checks for root and trusted users (the MTA) go before anyone else's. */
  private readonly lanes = { first: new Lane(), rest: new Lane() };

  constructor(readonly limit: number) {}

  /**
   * Runs `job` when a place is free. `first`: the request comes from root or
   * a trusted user; another local user filling the queue (a socket it may
   * reach, dozens of requests per connection) must not make the MTA's
   * logins wait behind its own.
   */
  run<T>(job: () => Promise<T>, signal?: AbortSignal, first = false): Promise<T> {
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
      (first ? this.lanes.first : this.lanes.rest).push(w);
    });
  }

  get queued(): number {
    return this.lanes.first.size + this.lanes.rest.size;
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
    while (this.running < this.limit) {
      const w = this.lanes.first.take() ?? this.lanes.rest.take();
      if (!w) return;
      w.start();
    }
  }
}

/** First come, first served, skipping those whose client left. */
class Lane {
  private readonly waiting: Waiter[] = [];
  private head = 0;

  push(w: Waiter): void {
    this.waiting.push(w);
  }

  get size(): number {
    return this.waiting.length - this.head;
  }

  take(): Waiter | undefined {
    while (this.head < this.waiting.length) {
      const w = this.waiting[this.head++]!;
      // Compact now and then instead of shifting on every dequeue.
      if (this.head > 1024 && this.head * 2 > this.waiting.length) {
        this.waiting.splice(0, this.head);
        this.head = 0;
      }
      if (!w.cancelled) return w;
    }
    return undefined;
  }
}
