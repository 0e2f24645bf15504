import { logResult } from '../auth/audit.js';
import { Authenticator } from '../auth/authenticator.js';
import { CredentialCache } from '../auth/cache.js';
import type { AuthRequest } from '../auth/types.js';
import { createBackend } from '../backends/index.js';
import type { Config } from '../config/config.js';
import { createVerifier, type Verifier } from '../crypt/verifier.js';
import type { Logger } from '../log.js';
import { parseClientAddr, replyText, type SaslauthdRequest } from '../protocol/saslauthd.js';
import { MuxServer } from './mux-server.js';
import { claimSocketPath, ensureRunDir, removeQuietly, writePidFile } from './run-dir.js';

function toAuthRequest(r: SaslauthdRequest): AuthRequest {
  const clientIp = parseClientAddr(r.clientAddr);
  const base = { login: r.login.toString('latin1'), password: r.password, service: r.service.toString('latin1'), realm: r.realm.toString('latin1') };
  return clientIp ? { ...base, clientIp } : base;
}

function buildAuthenticator(config: Config, verifier: Verifier, log: Logger): Authenticator {
  const cache = config.cache.enabled ? new CredentialCache({ entries: config.cache.entries, ttlMs: config.cache.ttlMs }) : undefined;
  return new Authenticator({ backend: createBackend(config, log), verifier, cache, combineRealm: config.combineRealm });
}

/** The running saslauthd replacement: run dir, socket, pipeline, reload and stop. */
export class Daemon {
  private config: Config;
  private authenticator: Authenticator;
  private readonly verifier: Verifier;
  private readonly server: MuxServer;

  private constructor(config: Config, private readonly log: Logger) {
    this.config = config;
    this.verifier = createVerifier({
      engine: config.cryptEngine,
      concurrency: config.cryptConcurrency,
      onChoice: (engine, why) => (engine === 'js' ? log.warn(`hash verification: pure-JS fallback (${why})`) : log.info(`hash verification: libxcrypt (${why})`)),
    });
    this.authenticator = buildAuthenticator(config, this.verifier, log);
    this.server = new MuxServer({
      socketPath: config.socketPath,
      requestTimeoutMs: config.requestTimeoutMs,
      maxConnections: config.maxConnections,
      log,
      handle: (r) => this.handle(r),
    });
  }

  static async start(config: Config, log: Logger): Promise<Daemon> {
    for (const w of config.warnings) log.warn(w);
    ensureRunDir(config.runDir);
    await claimSocketPath(config.socketPath, config.pidFile);
    const d = new Daemon(config, log);
    const ready = d.authenticator.backend.check?.();
    if (ready) log.info(ready);
    await d.server.listen();
    writePidFile(config.pidFile);
    log.info(`listening on ${config.socketPath} (mech ${config.mech}, cache ${config.cache.enabled ? 'on' : 'off'})`);
    return d;
  }

  private async handle(r: SaslauthdRequest): Promise<string> {
    const req = toAuthRequest(r);
    const auth = this.authenticator;
    const result = await auth.authenticate(req);
    logResult(this.log, this.config.verbose, { ...req, login: auth.effectiveLogin(req) }, auth.backend.mech, result);
    return replyText(result, auth.backend.terseReplies);
  }

  /** SIGHUP: take the new config's pipeline settings and start with an empty cache. */
  reload(next: Config): void {
    if (next.socketPath !== this.config.socketPath) this.log.warn('the run directory (-m) changes only with a restart');
    if (next.cryptEngine !== this.config.cryptEngine || next.cryptConcurrency !== this.config.cryptConcurrency) {
      this.log.warn('crypt_engine and -n change only with a restart');
    }
    for (const w of next.warnings) this.log.warn(w);
    const old = this.authenticator;
    const fresh = buildAuthenticator({ ...next, cryptEngine: this.config.cryptEngine }, this.verifier, this.log);
    // A new source that cannot serve must not replace one that can.
    fresh.backend.check?.();
    this.authenticator = fresh;
    this.config = { ...next, socketPath: this.config.socketPath, runDir: this.config.runDir, pidFile: this.config.pidFile };
    old.flushCache();
    void old.backend.close?.();
    this.log.info(`configuration reloaded (mech ${next.mech}); cache flushed`);
  }

  async stop(): Promise<void> {
    await this.server.close();
    removeQuietly(this.config.pidFile);
    await this.authenticator.backend.close?.();
    await this.verifier.close();
  }
}
