import type { Config } from '../config/config.js';
import { ConfigError } from '../config/errors.js';
import type { Logger } from '../log.js';
import { assertPrivateDir } from '../os/safe-files.js';
import { dirname } from 'node:path';
import type { RelayStore } from './store.js';
import { RelayTracker, type RelayPublisher } from './tracker.js';

async function openStore(config: Config, log: Logger): Promise<RelayStore> {
  const r = config.relay;
  switch (r.store) {
    case 'redis': {
      const { RedisRelayStore } = await import('./stores/redis-store.js');
      return new RedisRelayStore(r.redis, r.redisPrefix, r.ttlS, log);
    }
    case 'vpopmail': {
      if (!config.vpopmail) throw new ConfigError('relay_store: vpopmail needs mech vpopmail (its database connection)');
      const { SqlRelayStore } = await import('./stores/sql-store.js');
      return new SqlRelayStore(config.vpopmail, log);
    }
    default: {
      const { FileRelayStore } = await import('./stores/file-store.js');
      return new FileRelayStore(r.file);
    }
  }
}

/**
 * The relay tracker a process needs: its store and every configured
 * publisher but the socketmap, which only the daemon serves, and `extra`
 * (the daemon's metrics). Undefined when relay_store is none.
 */
export async function createRelayTracker(config: Config, log: Logger, extra: readonly RelayPublisher[] = []): Promise<RelayTracker | undefined> {
  const r = config.relay;
  if (r.store === 'none') return undefined;
  // Every process that writes grants (daemon, checkpassword, relay CLI) refuses the same unsafe places.
  const written: Array<[string | undefined, string]> = [[r.store === 'file' ? r.file : undefined, 'relay_file'], [r.textMap, 'relay_text_map'], [r.cdb, 'relay_cdb']];
  for (const [path, key] of written) if (path) assertPrivateDir(dirname(path), key, { sticky: true });
  const publishers: RelayPublisher[] = [...extra];
  if (r.datagram) {
    const { DatagramPublisher } = await import('./publishers/datagram.js');
    publishers.push(new DatagramPublisher(r.datagram, log));
  }
  if (r.textMap) {
    const { TextMapPublisher } = await import('./publishers/text-map.js');
    publishers.push(new TextMapPublisher(r.textMap, r.rebuildCommand, log));
  }
  if (r.cdb) {
    const { TcpCdbPublisher } = await import('./publishers/tcp-cdb.js');
    publishers.push(new TcpCdbPublisher(r.cdb, r.cdbRules, log));
  }
  return new RelayTracker(r, await openStore(config, log), publishers, log);
}
