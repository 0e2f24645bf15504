import type { Config, Mech } from '../config/config.js';
import { ConfigError } from '../config/errors.js';
import type { Logger } from '../log.js';
import type { Backend } from './types.js';

type Open = (config: Config, log: Logger) => Promise<Backend>;

/**
 * Cyrus's mechanism table: the password sources `-a` (or the key mech)
 * names. Each is imported only when chosen: the checkpassword program starts
 * once per POP login and must not load SQL drivers to read /etc/shadow.
 */
const MECHANISMS: Record<Mech, Open> = {
  shadow: async (c) => (await import('./shadow.js')).createShadowBackend(c.passwdFile, c.shadowFile),
  getpwent: async (c) => (await import('./shadow.js')).createGetpwentBackend(c.passwdFile),
  sasldb: async (c) => (await import('./sasldb/backend.js')).createSasldbBackend(c.sasldbPath, c.sasldbDefaultRealm),
  vpopmail: async (c, log) => (await import('./vpopmail/backend.js')).createVpopmailBackend(c.vpopmail!, log),
  pam: async (c, log) =>
    (await import('./pam/backend.js')).createPamBackend({
      passwdFile: c.passwdFile,
      workers: c.cryptConcurrency,
      timeoutMs: c.pam.timeoutMs,
      cacheTtlMs: c.pam.cacheTtlMs,
      onWorkerLost: (why) => log.warn(`PAM worker lost: ${why}`),
    }),
  rimap: async (c) => (await import('./rimap/backend.js')).createRimapBackend({ server: c.rimap!, passwdFile: c.passwdFile, concurrency: c.cryptConcurrency }),
  ldap: async (c, log) => (await import('./ldap/backend.js')).createLdapBackend({ config: c.ldap!, workers: c.cryptConcurrency, log }),
};

/**
 * Sources that keep the clear password, so a challenge (CRAM-MD5) can be
 * checked: sasldb stores it as given; vpopmail only in pw_clear_passwd, read
 * when vpopmail_clear_passwords is on. Known from the config, before any
 * lookup, because the mechanisms are announced at connect. In a chain every
 * mechanism must keep it: a challenge cannot be answered for a user the
 * mechanism that knows them holds only as a hash.
 */
export function keepsPlaintext(config: Config): boolean {
  const keeps = (mech: Mech) => mech === 'sasldb' || (mech === 'vpopmail' && config.vpopmail?.clearPasswords === true);
  return config.mechs.length > 0 && config.mechs.every(keeps);
}

/** The sources -a names, opened in its order; one that cannot be opened closes those opened before it. */
export async function createBackends(config: Config, log: Logger): Promise<Backend[]> {
  if (config.mechs.length === 0) throw new ConfigError('no mechanism: give -a or the config key mech');
  const opened: Backend[] = [];
  try {
    for (const mech of config.mechs) opened.push(await MECHANISMS[mech](config, log));
  } catch (err) {
    await Promise.allSettled(opened.map((b) => b.close?.()));
    throw err;
  }
  return opened;
}
