import { ConfigError } from './errors.js';

/** One Redis server (a redis:// URL as ioredis takes it), or the masters to start from in a cluster. */
export type RedisTarget =
  | { readonly kind: 'server'; readonly url: string }
  | { readonly kind: 'cluster'; readonly nodes: ReadonlyArray<{ readonly host: string; readonly port: number }> };

const CLUSTER_SCHEME = 'redis-cluster://';

/** `redis://…`, `rediss://…`, or `redis-cluster://host1:port1,host2:port2`. */
export function parseRedisTarget(text: string, where: string): RedisTarget {
  if (!text.startsWith(CLUSTER_SCHEME)) {
    if (!/^rediss?:\/\//.test(text)) throw new ConfigError(`${where}: expected redis://, rediss:// or redis-cluster://, got ${JSON.stringify(text)}`);
    return { kind: 'server', url: text };
  }
  const nodes = text.slice(CLUSTER_SCHEME.length).split(',').map((hp) => {
    const m = /^([^:,\s]+)(?::(\d{1,5}))?$/.exec(hp);
    const port = m?.[2] === undefined ? 6379 : Number(m[2]);
    if (!m || port < 1 || port > 65535) throw new ConfigError(`${where}: ${JSON.stringify(hp)} is not host:port`);
    return { host: m[1]!, port };
  });
  return { kind: 'cluster', nodes };
}
