import { ConfigError } from './errors.js';
import type { KeyName, KeyValues } from './keys.js';
import type { AddressSet } from '../net/address.js';
import type { RedisTarget } from './redis-target.js';

export { parseRedisTarget, type RedisTarget } from './redis-target.js';

export type RelayStoreKind = 'file' | 'redis' | 'vpopmail' | 'none';

export interface RelayConfig {
  readonly store: RelayStoreKind;
  readonly ttlS: number;
  readonly ignore: AddressSet;
  readonly services: ReadonlySet<string>;
  readonly file: string;
  readonly redis: RedisTarget;
  readonly redisPrefix: string;
  readonly datagram: string | undefined;
  readonly socketmap: string | undefined;
  readonly textMap: string | undefined;
  readonly rebuildCommand: string | undefined;
  readonly cdb: string | undefined;
  readonly cdbRules: string | undefined;
  readonly expireIntervalMs: number;
}

/** The relay_* keys' values, checked together. */
export function buildRelayConfig(v: KeyValues, whereOf: (k: KeyName) => string): RelayConfig {
  if (v.relay_cdb_rules && !v.relay_cdb) throw new ConfigError(`${whereOf('relay_cdb_rules')}: relay_cdb_rules needs relay_cdb`);
  return {
    store: v.relay_store,
    ttlS: v.relay_ttl,
    ignore: v.relay_ignore,
    services: v.relay_services,
    file: v.relay_file,
    redis: v.relay_redis,
    redisPrefix: v.relay_redis_prefix,
    datagram: v.relay_datagram,
    socketmap: v.relay_socketmap,
    textMap: v.relay_text_map,
    rebuildCommand: v.relay_rebuild_command,
    cdb: v.relay_cdb,
    cdbRules: v.relay_cdb_rules,
    expireIntervalMs: v.relay_expire_interval,
  };
}
