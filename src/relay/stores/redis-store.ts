import { Cluster, Redis } from 'ioredis';
import { TempFail } from '../../errors.js';
import type { RedisTarget } from '../../config/relay.js';
import type { Logger } from '../../log.js';
import type { RelayStore } from '../store.js';

const TIMEOUT_MS = 2000;

/** Sets the grant unless a newer one is there; the key expires by itself at the grant's end. */
const PUT_NEWER = `local cur = redis.call('GET', KEYS[1])
if (not cur) or tonumber(cur) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1], 'EXAT', ARGV[2])
end
return 1`;

/**
 * Redis: one key per address (`<prefix><ip>` = grant time) with a native
 * expiry, so every Authmux host sharing the server sees a grant made on
 * any of them at once, one server or a cluster (listing scans every master). Every failure is a TempFail.
 */
export class RedisRelayStore implements RelayStore {
  readonly name = 'redis';
  private readonly client: Redis | Cluster;
  private wasReady = false;

  constructor(target: RedisTarget, private readonly prefix: string, private readonly ttlS: number, log: Logger) {
    const common = { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: TIMEOUT_MS, commandTimeout: TIMEOUT_MS, lazyConnect: false };
    this.client = target.kind === 'cluster'
      ? new Cluster(target.nodes.map((n) => ({ ...n })), { enableOfflineQueue: false, redisOptions: common })
      : new Redis(target.url, { ...common, retryStrategy: (n: number) => Math.min(n * 200, 2000) });
    const url = target.kind === 'cluster' ? `redis-cluster://${target.nodes.map((n) => `${n.host}:${n.port}`).join(',')}` : target.url.replace(/\/\/[^@/]*@/, '//***@'); // never a password in the log
    let down = false;
    this.client.on('error', (err: Error) => {
      if (!down) log.error(`relay: redis ${url}: ${err.message}`);
      down = true;
    });
    this.client.on('ready', () => {
      this.wasReady = true;
      if (down) log.info(`relay: redis ${url} reachable again`);
      down = false;
    });
  }

  /** Commands are not queued while disconnected (a down Redis must answer at once), so a fresh client waits for its connection here, briefly. */
  private async connected(): Promise<void> {
    if (this.client.status === 'ready') return;
    // Once it has been up, a lost connection fails at once; the client reconnects in the background.
    if (this.wasReady) throw new Error(`connection lost (${this.client.status})`);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.client.off('ready', onReady);
        reject(new Error(`not connected (${this.client.status})`));
      }, TIMEOUT_MS);
      const onReady = () => {
        clearTimeout(timer);
        resolve();
      };
      this.client.once('ready', onReady);
    });
  }

  private async call<T>(what: string, work: () => Promise<T>): Promise<T> {
    try {
      await this.connected();
      return await work();
    } catch (err) {
      throw new TempFail(`relay store redis: ${what}: ${(err as Error).message}`);
    }
  }

  put(ip: string, at: number): Promise<void> {
    return this.call('put', async () => {
      await this.client.eval(PUT_NEWER, 1, this.prefix + ip, String(at), String(at + this.ttlS));
    });
  }

  get(ip: string): Promise<number | undefined> {
    return this.call('get', async () => {
      const v = await this.client.get(this.prefix + ip);
      return v === null ? undefined : Number(v);
    });
  }

  remove(ips: readonly string[]): Promise<string[]> {
    return this.call('delete', async () => {
      const gone: string[] = [];
      for (const ip of ips) if ((await this.client.del(this.prefix + ip)) > 0) gone.push(ip);
      return gone;
    });
  }

  private async keys(): Promise<string[]> {
    // A cluster spreads the keys over its masters; each is scanned.
    const nodes = this.client.isCluster ? (this.client as Cluster).nodes('master') : [this.client as Redis];
    const out: string[] = [];
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, batch] = await node.scan(cursor, 'MATCH', `${this.prefix.replace(/[*?[\]\\]/g, '\\$&')}*`, 'COUNT', 1000);
        cursor = next;
        out.push(...batch);
      } while (cursor !== '0');
    }
    return out;
  }

  entries(): Promise<Array<[string, number]>> {
    return this.call('list', async () => {
      const keys = await this.keys();
      const out: Array<[string, number]> = [];
      for (const k of keys) {
        const v = await this.client.get(k);
        if (v !== null) out.push([k.slice(this.prefix.length), Number(v)]);
      }
      return out;
    });
  }

  async expireBefore(cutoff: number): Promise<string[]> {
    const stale = (await this.entries()).filter(([, at]) => at < cutoff).map(([ip]) => ip);
    return this.remove(stale);
  }

  async close(): Promise<void> {
    this.client.disconnect();
  }
}
