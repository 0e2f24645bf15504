import type { Backend } from '../auth/types.js';
import type { Config } from '../config/config.js';
import type { Logger } from '../log.js';
import { createSasldbBackend } from './sasldb/backend.js';
import { createGetpwentBackend, createShadowBackend } from './shadow.js';
import { createVpopmailBackend } from './vpopmail/backend.js';

/** The password source that `-a` (or the config key mech) names. */
export function createBackend(config: Config, log: Logger): Backend {
  switch (config.mech) {
    case 'shadow':
      return createShadowBackend(config.passwdFile, config.shadowFile);
    case 'getpwent':
      return createGetpwentBackend(config.passwdFile);
    case 'sasldb':
      return createSasldbBackend(config.sasldbPath, config.sasldbDefaultRealm);
    case 'vpopmail':
      return createVpopmailBackend(config.vpopmail!, log);
  }
}
