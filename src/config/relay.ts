import { isAbsolute, resolve } from 'node:path';
import { AddressSet } from '../relay/address.js';
import { ConfigError } from './errors.js';
import type { KeyLookup } from './vpopmail.js';
import { parseChoice, parseInteger, parseSeconds, parseWords } from './values.js';

export type RelayStoreKind = 'file' | 'redis' | 'vpopmail' | 'none';

export interface RelayConfig {
  readonly store: RelayStoreKind;
  readonly ttlS: number;
  readonly ignore: AddressSet;
  readonly services: ReadonlySet<string>;
  readonly file: string;
  readonly redisUrl: string;
  readonly redisPrefix: string;
  readonly datagram: string | undefined;
  readonly socketmap: string | undefined;
  readonly textMap: string | undefined;
  readonly rebuildCommand: string | undefined;
  readonly cdb: string | undefined;
  readonly cdbRules: string | undefined;
  readonly expireIntervalMs: number;
}

/** vchkpw opens relay for POP and IMAP logins only: an SMTP AUTH login needs no POP-before-SMTP. */
const DEFAULT_SERVICES = 'pop3 pop pop3s imap imaps';
const DEFAULT_IGNORE = '127.0.0.0/8 ::1';

/** The relay_* keys. */
export function parseRelayConfig(key: KeyLookup, confDir: string, runDir: string): RelayConfig {
  const path = (k: string, dflt?: string) => {
    const e = key(k);
    if (!e) return dflt;
    return isAbsolute(e.value) ? e.value : resolve(confDir, e.value);
  };
  const storeKey = key('relay_store');
  const ignoreKey = key('relay_ignore');
  let ignore: AddressSet;
  try {
    ignore = new AddressSet(parseWords(ignoreKey?.value ?? DEFAULT_IGNORE));
  } catch (err) {
    throw new ConfigError(`${ignoreKey?.where ?? 'relay_ignore'}: ${(err as Error).message}`);
  }
  const ttl = key('relay_ttl');
  const interval = key('relay_expire_interval');
  const cdb = path('relay_cdb');
  const cdbRules = path('relay_cdb_rules');
  if (cdbRules && !cdb) throw new ConfigError(`${key('relay_cdb_rules')!.where}: relay_cdb_rules needs relay_cdb`);
  return {
    store: storeKey ? parseChoice(storeKey.value, storeKey.where, ['file', 'redis', 'vpopmail', 'none'] as const) : 'file',
    ttlS: ttl ? parseInteger(ttl.value, ttl.where, 1, 366 * 86400) : 1800,
    ignore,
    services: new Set(parseWords((key('relay_services')?.value ?? DEFAULT_SERVICES).toLowerCase())),
    file: path('relay_file', `${runDir}/relayers`)!,
    redisUrl: key('relay_redis')?.value ?? 'redis://127.0.0.1:6379/0',
    redisPrefix: key('relay_redis_prefix')?.value ?? 'authmux:relay:',
    datagram: path('relay_datagram'),
    socketmap: path('relay_socketmap'),
    textMap: path('relay_text_map'),
    rebuildCommand: key('relay_rebuild_command')?.value,
    cdb,
    cdbRules,
    expireIntervalMs: interval ? parseSeconds(interval.value, interval.where, 1000) : 60_000,
  };
}
