import { isAbsolute, resolve } from 'node:path';
import { DEFAULT_SERVICE_FLAGS, parseServiceFlags, type ServiceFlags } from '../backends/vpopmail/flags.js';
import { ConfigError } from './errors.js';
import { driverOfConnFile, parseSqlUrl, readVpopmailConnFile, type SqlConnection, type SqlDriver } from './sql-connection.js';
import { parseBool, parseChoice, parseInteger, parseSeconds } from './values.js';

export interface VpopmailConfig {
  readonly read: SqlConnection;
  /** vpopmail's second config line, for lastauth writes; the read connection when there is none. */
  readonly write: SqlConnection;
  readonly layout: 'many-domains' | 'per-domain';
  readonly defaultDomain: string;
  readonly clearPasswords: boolean;
  readonly lastauth: boolean;
  readonly serviceFlags: ServiceFlags;
  readonly queryTimeoutMs: number;
  readonly poolSize: number;
}

export type KeyLookup = (key: string) => { value: string; where: string } | undefined;

/** The vpopmail_* keys, read only when mech is vpopmail. */
export function parseVpopmailConfig(key: KeyLookup, confDir: string, env: NodeJS.ProcessEnv): VpopmailConfig {
  const url = key('vpopmail_sql');
  const file = key('vpopmail_config_file');
  let read: SqlConnection;
  let write: SqlConnection;
  if (url && file) throw new ConfigError(`${file.where}: give vpopmail_sql or vpopmail_config_file, not both`);
  if (url) {
    read = write = parseSqlUrl(url.value, url.where);
  } else if (file) {
    const path = isAbsolute(file.value) ? file.value : resolve(confDir, file.value);
    const d = key('vpopmail_driver');
    const driver: SqlDriver | undefined = d ? parseChoice(d.value, d.where, ['mysql', 'pgsql'] as const) : driverOfConnFile(path);
    if (!driver) throw new ConfigError(`${file.where}: cannot tell the database from the file name; set vpopmail_driver: mysql or pgsql`);
    ({ read, write } = readVpopmailConnFile(path, driver));
  } else {
    throw new ConfigError('mech vpopmail needs vpopmail_sql (a mysql:// or postgres:// URL) or vpopmail_config_file (vpopmail.mysql / vpopmail.pgsql)');
  }
  const layout = key('vpopmail_layout');
  const flags = key('vpopmail_service_flags');
  const timeout = key('vpopmail_query_timeout');
  const pool = key('vpopmail_pool_size');
  const clear = key('vpopmail_clear_passwords');
  const lastauth = key('vpopmail_lastauth');
  return {
    read,
    write,
    layout: layout ? parseChoice(layout.value, layout.where, ['many-domains', 'per-domain'] as const) : 'many-domains',
    defaultDomain: (key('vpopmail_default_domain')?.value ?? env['VPOPMAIL_DOMAIN'] ?? '').toLowerCase(),
    clearPasswords: clear ? parseBool(clear.value, clear.where) : false,
    lastauth: lastauth ? parseBool(lastauth.value, lastauth.where) : false,
    serviceFlags: parseServiceFlags(flags?.value ?? DEFAULT_SERVICE_FLAGS, flags?.where ?? 'default vpopmail_service_flags'),
    queryTimeoutMs: timeout ? parseSeconds(timeout.value, timeout.where, 100) : 5000,
    poolSize: pool ? parseInteger(pool.value, pool.where, 1, 256) : 8,
  };
}
