import type { Cluster, Redis } from 'ioredis';
import type { Config } from '../config/config.js';
import { PENALTY_FORGET_MS } from './penalty-gate.js';

/** A penalty lookup waits no longer than this for Redis; then the local count alone decides. */
const TIMEOUT_MS = 100;

/**
 * Failure counts per address key in Redis, shared by every daemon of a
 * fleet, so guesses spread over the servers behind one name still add up.
 * Only counts cross: whether a failure repeats a recent pair is judged by
 * each daemon alone, since a digest of user and password kept where others
 * can read it would be a target for offline guessing. Anything that goes
 * wrong with Redis leaves the local count deciding: a login is never
 * refused or held back because Redis is away.
 */
export class SharedPenalty {
  constructor(
    private readonly client: Redis | Cluster,
    private readonly prefix: string,
    private readonly forgetAfterS: number,
    private readonly onError: (err: Error) => void,
  ) {
    this.client.on('error', () => undefined);
  }

  /**
   * True once connected, false when Redis does not answer within `ms`. A
   * process that lives for one login (checkpassword) asks this first: its
   * commands are not queued while the connection is being made, so without
   * the wait its first lookup would always find Redis away.
   */
  async connected(ms: number): Promise<boolean> {
    if (this.client.status === 'ready') return true;
    let timer: NodeJS.Timeout | undefined;
    const ready = new Promise<boolean>((resolve) => {
      this.client.once('ready', () => resolve(true));
      timer = setTimeout(() => resolve(false), ms);
    });
    const ok = await ready;
    clearTimeout(timer);
    return ok;
  }

  /** Failures counted for the key over the fleet; undefined when Redis cannot say in time. */
  async failures(key: string): Promise<number | undefined> {
    try {
      const v = await this.client.get(this.prefix + key);
      if (v === null) return 0;
      const n = Number(v);
      if (Number.isSafeInteger(n) && n >= 0) return n;
      // Not a count Authmux wrote (INCR would have failed on it since): dropped, and this daemon's own count decides.
      this.client.del(this.prefix + key).catch((err: Error) => this.onError(err));
      this.onError(new Error(`penalty store: ${JSON.stringify(v.slice(0, 40))} under ${this.prefix + key} is no count; removed`));
      return undefined;
    } catch (err) {
      this.onError(err as Error);
      return undefined;
    }
  }

  /** One more failure (not waited for by the request). */
  failed(key: string): void {
    this.client
      .multi()
      .incr(this.prefix + key)
      .expire(this.prefix + key, this.forgetAfterS)
      .exec()
      .catch((err: Error) => this.onError(err));
  }

  succeeded(key: string): void {
    this.client.del(this.prefix + key).catch((err: Error) => this.onError(err));
  }

  clear(key: string): void {
    this.succeeded(key);
  }

  async close(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }
}

/**
 * penalty_store: redis, when the penalty is on and the store chosen; `onError`
 * hears of Redis going away. ioredis is loaded only then: it is some 20 MB of
 * each process's memory, and it loads a module that opens stderr as a stream,
 * making a pipe the checkpassword program shares non-blocking.
 */
export async function sharedPenaltyFor(config: Config, onError: (err: Error) => void): Promise<SharedPenalty | undefined> {
  const shared = config.penalty.shared;
  if (!config.penalty.enabled || !shared) return undefined;
  const { Cluster, Redis } = await import('ioredis');
  const target = shared.target;
  const common = { enableOfflineQueue: false, maxRetriesPerRequest: 0, connectTimeout: 1000, commandTimeout: TIMEOUT_MS, lazyConnect: false };
  const client =
    target.kind === 'cluster'
      ? new Cluster(target.nodes.map((n) => ({ ...n })), { enableOfflineQueue: false, redisOptions: common })
      : new Redis(target.url, { ...common, retryStrategy: (n: number) => Math.min(n * 200, 2000) });
  return new SharedPenalty(client, shared.prefix, PENALTY_FORGET_MS / 1000, onError);
}
