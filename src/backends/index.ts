import type { Backend } from '../auth/types.js';
import type { Config } from '../config/config.js';
import type { Logger } from '../log.js';

/**
 * The password source that `-a` (or the config key mech) names. Each is
 * imported only when chosen: the checkpassword program starts once per POP
 * login and must not load SQL drivers to read /etc/shadow.
 */
export async function createBackend(config: Config, log: Logger): Promise<Backend> {
  switch (config.mech) {
    case 'shadow':
      return (await import('./shadow.js')).createShadowBackend(config.passwdFile, config.shadowFile);
    case 'getpwent':
      return (await import('./shadow.js')).createGetpwentBackend(config.passwdFile);
    case 'sasldb':
      return (await import('./sasldb/backend.js')).createSasldbBackend(config.sasldbPath, config.sasldbDefaultRealm);
    case 'vpopmail':
      return (await import('./vpopmail/backend.js')).createVpopmailBackend(config.vpopmail!, log);
  }
}
