import { ConfigError } from './errors.js';
import { readKeys, type KeyName, type KeyValues, type Setting } from './keys.js';
import { driverOfConnFile, readVpopmailConnFile, type SqlConnection } from './sql-connection.js';
import type { ServiceFlags } from './vpopmail-flags.js';

export { DEFAULT_SERVICE_FLAGS, parseServiceFlags, VPOPMAIL_FLAGS, type ServiceFlags } from './vpopmail-flags.js';

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

export type KeyLookup = (key: string) => Setting | undefined;

/** The vpopmail_* keys' values, checked together; built only when mech is vpopmail. */
export function buildVpopmailConfig(v: KeyValues, whereOf: (k: KeyName) => string): VpopmailConfig {
  const url = v.vpopmail_sql;
  const file = v.vpopmail_config_file;
  let read: SqlConnection;
  let write: SqlConnection;
  if (url && file) throw new ConfigError(`${whereOf('vpopmail_config_file')}: give vpopmail_sql or vpopmail_config_file, not both`);
  if (url) {
    read = write = url;
  } else if (file) {
    const driver = v.vpopmail_driver ?? driverOfConnFile(file);
    if (!driver) throw new ConfigError(`${whereOf('vpopmail_config_file')}: cannot tell the database from the file name; set vpopmail_driver: mysql or pgsql`);
    ({ read, write } = readVpopmailConnFile(file, driver));
  } else {
    throw new ConfigError('mech vpopmail needs vpopmail_sql (a mysql:// or postgres:// URL) or vpopmail_config_file (vpopmail.mysql / vpopmail.pgsql)');
  }
  return {
    read,
    write,
    layout: v.vpopmail_layout,
    defaultDomain: v.vpopmail_default_domain,
    clearPasswords: v.vpopmail_clear_passwords,
    lastauth: v.vpopmail_lastauth,
    serviceFlags: v.vpopmail_service_flags,
    queryTimeoutMs: v.vpopmail_query_timeout,
    poolSize: v.vpopmail_pool_size,
  };
}

/** The same from settings looked up one by one (tools and tests that hold no configuration file). */
export function parseVpopmailConfig(lookup: KeyLookup, confDir: string, env: NodeJS.ProcessEnv): VpopmailConfig {
  const settings = new Map<string, Setting>();
  for (const k of ['vpopmail_sql', 'vpopmail_config_file', 'vpopmail_driver', 'vpopmail_layout', 'vpopmail_default_domain', 'vpopmail_clear_passwords', 'vpopmail_lastauth', 'vpopmail_service_flags', 'vpopmail_query_timeout', 'vpopmail_pool_size']) {
    const s = lookup(k);
    if (s) settings.set(k, s);
  }
  const { values, whereOf } = readKeys(settings, { confDir, env, runDir: '/', foreground: true });
  return buildVpopmailConfig(values, whereOf);
}
