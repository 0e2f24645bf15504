import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { auditLine, logResult } from '../auth/audit.js';
import { canonicalIp } from '../net/address.js';
import { ControlServer, type ControlActions } from './control-server.js';
import { parseLocalPeerKey, penaltyKey, type PenaltyTable } from '../auth/penalty.js';
import type { AuthRequest } from '../auth/types.js';
import { sharedPenaltyFor, type SharedPenalty } from '../auth/shared-penalty.js';
import { ThrottledWarning } from './throttled-warning.js';
import { gateFor, newPenaltyTable, type GateOutcome, type PenaltyGate } from '../auth/penalty-gate.js';
import { CredentialCache } from '../auth/cache.js';
import { AuthChain, type Decided } from '../auth/chain.js';
import { createBackends, keepsPlaintext } from '../backends/index.js';
import type { Config } from '../config/config.js';
import { createVerifier, type Verifier } from '../crypt/verifier.js';
import { logLine } from '../log-line.js';
import type { Logger } from '../log.js';
import * as cpSocket from '../doors/checkpassword-socket.js';
import * as dovecot from '../doors/dovecot-auth.js';
import * as userdb from '../doors/dovecot-userdb.js';
import * as saslauthd from '../doors/saslauthd.js';
import type { DoorRequest } from '../protocol/checkpassword-door.js';
import type { SaslauthdRequest } from '../protocol/saslauthd.js';
import { CRAM_MD5, type OfferedMechanism } from '../protocol/sasl-mechanisms.js';
import { createRelayTracker } from '../relay/index.js';
import { SocketmapServer } from './socketmap-server.js';
import { DovecotAuthServer, type DovecotLogin, type DovecotRefusal } from './dovecot-auth-server.js';
import { DovecotUserdbServer } from './dovecot-userdb-server.js';
import type { UserCommand } from '../protocol/dovecot-userdb.js';
import { resolveSocketOwner } from './socket-owner.js';
import type { LoginFacts, RelayTracker } from '../relay/tracker.js';
import { ConnectionLimits, descriptorShortfall } from './connection-limits.js';
import { MuxServer } from './mux-server.js';
import { loadPeerUid, type PeerUid } from '../os/peer-credentials.js';
import { resolveTrustedUsers } from './trusted-users.js';
import { adoptActivated, claimSocketPath, ensureRunDir, removeQuietly, writePidFile } from './run-dir.js';
import { activatedSockets } from '../os/socket-activation.js';
import type { Door, Metrics } from './metrics.js';
import type { FirstProcessLink, FirstProcessOrders } from './first-process-link.js';
import { ServingProcesses, type ProgramCommand } from './serving-processes.js';
import { PeerMetricsMemory, type PeerMetrics } from './peer-metrics.js';
import type { ServingStats } from './serving-messages.js';

/**
 * Which process this is. The first owns the run directory and every socket,
 * and starts the other serving processes (serve_processes) with `command`;
 * a serving process accepts on the first's saslauthd socket and nothing else.
 */
export type DaemonRole = { readonly kind: 'first'; readonly command?: ProgramCommand } | { readonly kind: 'serving'; readonly link: FirstProcessLink };

/** When a request's check began and ended (performance.now()); both 0 when it never ran. */
interface Clock {
  start: number;
  end: number;
}

async function buildChain(config: Config, verifier: Verifier, log: Logger): Promise<AuthChain> {
  const cache = config.cache.enabled ? new CredentialCache({ entries: config.cache.entries, ttlMs: config.cache.ttlMs }) : undefined;
  return new AuthChain({ backends: await createBackends(config, log), verifier, cache, combineRealm: config.combineRealm });
}

/** One set of limits for every socket the daemon serves: they share its descriptors. */
function connectionLimits(config: Config, log: Logger, peerUid: PeerUid | undefined): ConnectionLimits {
  const shortfall = descriptorShortfall(config.maxConnections);
  if (shortfall) log.warn(shortfall);
  if (!peerUid) log.warn('max_connections_per_user is not applied: peer credentials cannot be read');
  let trusted;
  try {
    trusted = resolveTrustedUsers(config.trustedUsers);
  } catch (err) {
    log.warn(`trusted_users: ${(err as Error).message}; only root is trusted`);
    trusted = resolveTrustedUsers([], Buffer.alloc(0));
  }
  if (trusted.absent.length > 0) log.debug(`trusted_users: no such account here: ${trusted.absent.join(' ')}`);
  log.info(`connections: at most ${config.maxConnections}; ${config.maxConnectionsPerUser} per user except ${trusted.described.join(' ')}`);
  return new ConnectionLimits({ maxConnections: config.maxConnections, maxPerUser: config.maxConnectionsPerUser, trustedUids: trusted.uids }, log, peerUid);
}

/** The running saslauthd replacement: run dir, socket, pipeline, reload and stop. */
/** The admin's choice, and CRAM-MD5 when the source keeps clear passwords; fixed at start, like the socket. */
function dovecotMechanisms(config: Config): readonly OfferedMechanism[] {
  return keepsPlaintext(config) ? [...config.dovecot.mechanisms, CRAM_MD5] : config.dovecot.mechanisms;
}

/**
 * Sockets systemd passed (authmux.socket), by FileDescriptorName=: each
 * takes the place of the path its key names. A name with no place here, or
 * whose key is unset, is said in the log and left alone.
 */
function adoptActivatedSockets(config: Config, log: Logger): void {
  const places: Record<string, string | undefined> = {
    mux: config.socketPath,
    dovecot: config.dovecot.socket,
    'dovecot-userdb': config.dovecotUserdbSocket,
    'relay-socketmap': config.relay.socketmap,
    checkpassword: config.checkpassword.socket,
    metrics: config.metricsListen?.kind === 'unix' ? config.metricsListen.path : undefined,
  };
  for (const [name, fd] of activatedSockets(process.env)) {
    const path = places[name];
    if (path === undefined) {
      log.warn(`socket activation: fd ${fd} is named ${name}, which names no socket this configuration serves; left alone`);
      continue;
    }
    adoptActivated(path, fd);
    log.info(`socket activation: ${name} (${path}) on fd ${fd}`);
  }
}

/**
 * SO_PEERCRED, read once for every socket that asks who connects: the
 * connection limits (without it, only max_connections applies) and the
 * control socket (without it, it answers nobody).
 */
function peerCredentials(log: Logger): PeerUid | undefined {
  try {
    return loadPeerUid();
  } catch (err) {
    log.warn(`peer credentials cannot be read (${(err as Error).message}): the control socket answers nobody`);
    return undefined;
  }
}

/** penalty_store: redis, with Redis's troubles told at most once a minute. */
function sharedPenaltyIfAny(config: Config, log: Logger): Promise<SharedPenalty | undefined> {
  const redisAway = new ThrottledWarning(log, { one: 'penalty store (Redis) away, counting locally', many: 'penalty store (Redis) errors, counted locally' }, 60_000);
  return sharedPenaltyFor(config, (err) => redisAway.warn(err.message));
}

export class Daemon {
  private config: Config;
  private auth: AuthChain;
  private readonly verifier: Verifier;
  /** Per-address failure counts live as long as the daemon; a reload only changes the rules. */
  private readonly penalties: PenaltyTable;
  private gate: PenaltyGate;
  /** penalty_store: redis; kept across reloads, as the local counts are. */
  private readonly sharedPenalty: SharedPenalty | undefined;
  private readonly server: MuxServer<SaslauthdRequest>;
  /** The checkpassword program's door, when checkpassword_socket is set. */
  private readonly door: MuxServer<DoorRequest> | undefined;
  private readonly socketmap: SocketmapServer | undefined;
  /** Dovecot's auth-client protocol, when dovecot_socket is set. */
  private readonly dovecot: DovecotAuthServer | undefined;
  /** Dovecot's userdb lookups, when dovecot_userdb_socket is set. */
  private readonly userdb: DovecotUserdbServer | undefined;

  private constructor(
    config: Config,
    private readonly log: Logger,
    verifier: Verifier,
    auth: AuthChain,
    private readonly relay: RelayTracker | undefined,
    private readonly limits: ConnectionLimits,
    private readonly metrics: Metrics | undefined,
    private readonly link: FirstProcessLink | undefined,
    penaltyKey: Buffer | undefined,
    sharedPenalty: SharedPenalty | undefined,
  ) {
    this.config = config;
    this.penalties = newPenaltyTable(config, penaltyKey);
    this.sharedPenalty = sharedPenalty;
    this.gate = gateFor(config, this.penalties, this.sharedPenalty);
    const first = link === undefined;
    this.socketmap = first && relay && config.relay.socketmap
      ? new SocketmapServer(config.relay.socketmap, (ip) => relay.isLive(ip), log, { limits, requestTimeoutMs: config.requestTimeoutMs, idleTimeoutMs: config.idleTimeoutMs })
      : undefined;
    this.verifier = verifier;
    this.auth = auth;
    this.server = new MuxServer({
      socketPath: config.socketPath,
      codec: saslauthd.codec,
      requestTimeoutMs: config.requestTimeoutMs,
      limits,
      log,
      answerAtOnce: (r, trusted, uid) => this.answerAtOnce(r, trusted, uid),
      handle: (r, gone, trusted, uid) => this.handle(r, gone, trusted, uid),
    });
    this.door = first && config.checkpassword.socket
      ? new MuxServer({
          socketPath: config.checkpassword.socket,
          codec: cpSocket.codec,
          requestTimeoutMs: config.requestTimeoutMs,
          limits,
          log,
          handle: (r, gone, trusted, uid) => this.handleDoor(r, gone, trusted, uid),
        })
      : undefined;
    this.dovecot = first && config.dovecot.socket
      ? new DovecotAuthServer({
          socketPath: config.dovecot.socket,
          mode: config.dovecot.mode,
          owner: resolveSocketOwner(config.dovecot.user, config.dovecot.group, 'dovecot_socket'),
          mechanisms: dovecotMechanisms(config),
          limits,
          requestTimeoutMs: config.requestTimeoutMs,
          idleTimeoutMs: config.idleTimeoutMs,
          log,
          answerAtOnce: (l, trusted, uid) => this.dovecotAtOnce(l, trusted, uid),
          check: (l, gone, trusted, uid) => this.handleDovecot(l, gone, trusted, uid),
          refused: (r, trusted) => this.dovecotRefused(r, trusted),
        })
      : undefined;
    this.userdb = first && config.dovecotUserdbSocket
      ? new DovecotUserdbServer({
          socketPath: config.dovecotUserdbSocket,
          mode: config.dovecot.mode,
          owner: resolveSocketOwner(config.dovecot.user, config.dovecot.group, 'dovecot_socket'),
          limits,
          requestTimeoutMs: config.requestTimeoutMs,
          idleTimeoutMs: config.idleTimeoutMs,
          log,
          lookup: (cmd) => this.handleUserdb(cmd),
        })
      : undefined;
  }

  /** `hashPool`: the threads of libuv's pool this process has (cli/hash-pool.ts); -n's share when not told. */
  static async start(config: Config, log: Logger, role: DaemonRole = { kind: 'first' }, hashPool = config.cryptConcurrency): Promise<Daemon> {
    // A serving process's pool is its share, the first's the whole -n (handed only its share): anything else was set outside.
    const expected = role.kind === 'serving' ? config.cryptConcurrency : config.cryptConcurrency * config.serveProcesses;
    if (hashPool < config.cryptConcurrency || hashPool > Math.max(expected, config.cryptConcurrency)) {
      log.warn(`-n gives this process ${config.cryptConcurrency} hashes at once, but its thread pool has ${hashPool} threads (UV_THREADPOOL_SIZE in the environment)`);
    }
    if (role.kind === 'serving') return Daemon.startServing(config, log, role.link, hashPool);
    for (const w of config.warnings) log.warn(w);
    ensureRunDir(config.runDir);
    adoptActivatedSockets(config, log);
    await claimSocketPath(config.socketPath, config.pidFile);
    const verifier = createVerifier({
      engine: config.cryptEngine,
      concurrency: config.cryptConcurrency,
      poolThreads: hashPool,
      onChoice: (engine, why) => (engine === 'js' ? log.warn(`hash verification: pure-JS fallback (${why})`) : log.info(`hash verification: libxcrypt (${why})`)),
    });
    // The cache changes with each reload: the gauge asks whichever chain serves at the scrape.
    let daemon: Daemon | undefined;
    // prom-client is loaded only when metrics are served.
    const metrics = config.metricsListen ? new (await import('./metrics.js')).Metrics({ cacheEntries: () => daemon?.auth.cacheEntries ?? 0 }) : undefined;
    const auth = await buildChain(config, verifier, log);
    const relay = await createRelayTracker(config, log, metrics ? [metrics.relayPublisher()] : []);
    const peerUid = peerCredentials(log);
    const others = config.serveProcesses - 1;
    const penaltyKey = others > 0 ? randomBytes(32) : undefined;
    const d = new Daemon(config, log, verifier, auth, relay, connectionLimits(config, log, peerUid), metrics, undefined, penaltyKey, await sharedPenaltyIfAny(config, log));
    daemon = d;
    for (const ready of d.auth.check()) log.info(ready);
    await d.server.listen();
    if (others > 0) {
      if (!role.command) throw new Error('serve_processes: this program cannot start serving processes');
      const memory = new PeerMetricsMemory();
      const serving = new ServingProcesses(others, role.command, d.server.listeningFd, penaltyKey!, {
        grant: (f) => void d.recordRelay(f),
        penalty: (e) => d.penalties.apply(e),
        penalties: () => d.penalties.entries(),
        died: (index) => memory.died(index),
      }, log);
      // Stopped with the rest should anything after this fail to start.
      d.serving = serving;
      await serving.start();
      d.penalties.onChange = (e) => serving.tell({ t: 'penalty', e });
      metrics?.addPeers(async () => memory.sum(await serving.askEach<PeerMetrics>({ t: 'metrics' })));
      log.info(`serving processes: ${serving.pids.join(' ')} accept on ${config.socketPath} too`);
    }
    if (d.door) {
      await claimSocketPath(config.checkpassword.socket!, config.pidFile);
      await d.door.listen();
      log.info(`checkpassword requests on ${config.checkpassword.socket}`);
    }
    if (d.dovecot) {
      await d.dovecot.start();
      log.info(`Dovecot auth requests on ${config.dovecot.socket} (${dovecotMechanisms(config).join(' ')})`);
    }
    if (d.userdb) {
      await d.userdb.start();
      log.info(`Dovecot userdb lookups on ${config.dovecotUserdbSocket}`);
    }
    if (d.relay) {
      d.relay.startExpiry();
      // Files written for MTAs start from what the store holds, not from the first login.
      d.relay.refreshPublishers();
      log.info(`relay tracking: ${d.relay.store.name} store, grants last ${config.relay.ttlS} s`);
    }
    if (d.socketmap) {
      await d.socketmap.start();
      log.info(`relay socketmap on ${config.relay.socketmap}`);
    }
    if (metrics) {
      await metrics.listen(config.metricsListen!, log, config.pidFile);
      log.info(`metrics on ${metrics.address}`);
    }
    d.control = new ControlServer(join(config.runDir, 'control'), d.controlActions(), log, peerUid);
    await d.control.start();
    writePidFile(config.pidFile);
    log.info(`listening on ${config.socketPath} (mech ${config.mechs.join(',')}, cache ${config.cache.enabled ? 'on' : 'off'})`);
    return d;
  }

  /**
   * A process besides the first (serve_processes): the same pipeline with a
   * cache of its own, on the first's saslauthd socket. Its failure counts
   * and relay grants go to the first, which tells the others.
   */
  private static async startServing(config: Config, log: Logger, link: FirstProcessLink, hashPool: number): Promise<Daemon> {
    const verifier = createVerifier({ engine: config.cryptEngine, concurrency: config.cryptConcurrency, poolThreads: hashPool, onChoice: () => undefined });
    let daemon: Daemon | undefined;
    const metrics = config.metricsListen ? new (await import('./metrics.js')).Metrics({ cacheEntries: () => daemon?.auth.cacheEntries ?? 0 }) : undefined;
    const auth = await buildChain(config, verifier, log);
    const d = new Daemon(config, log, verifier, auth, undefined, connectionLimits(config, log, peerCredentials(log)), metrics, link, link.penaltyKey, await sharedPenaltyIfAny(config, log));
    daemon = d;
    d.auth.check();
    d.penalties.onChange = (e) => link.penalty(e);
    // Accepting starts with the first's 'begin' (servingOrders).
    return d;
  }

  /** A serving process's answers to the first. */
  servingOrders(reload: () => Promise<void>, reopenLog: () => void, orphaned: () => void): FirstProcessOrders {
    return {
      begin: async (penalties) => {
        this.penalties.adopt(penalties);
        await this.server.listen(this.link!.listeningFd);
      },
      reload,
      reopenLog,
      orphaned,
      flush: (login) => this.flushLocal(login),
      penalty: (e) => this.penalties.apply(e),
      metrics: async () => (this.metrics ? await this.metrics.registry.getMetricsAsJSON() : []),
      stats: (): ServingStats => ({ served: this.served, cacheEntries: this.auth.cacheEntries }),
    };
  }

  /** The other serving processes, when serve_processes is over 1 (first process only). */
  private serving: ServingProcesses | undefined;

  /** SIGUSR1 in the first process: the others reopen their logs too. */
  logReopened(): void {
    this.serving?.tell({ t: 'reopen-log' });
  }

  private flushLocal(login: string | undefined): number {
    if (login === undefined) {
      const n = this.auth.cacheEntries;
      this.auth.flushCache();
      return n;
    }
    // user@realm: the realm field as clients send it, or the login as one string (Dovecot, -r), both.
    const at = login.lastIndexOf('@');
    if (at <= 0) return this.auth.forgetLogin(login);
    return this.auth.forgetLogin(login.slice(0, at), login.slice(at + 1)) + this.auth.forgetLogin(login);
  }

  /** Logins decided since start, on every door: systemd's STATUS line shows it. */
  served = 0;
  private readonly startedAt = Date.now();
  /** `authmux ctl`'s socket. */
  private control: ControlServer | undefined;
  /** What SIGHUP does (the command line and file read again, the log reopened): set by the command that runs the daemon. */
  private reloader: (() => Promise<void>) | undefined;

  setReloader(reload: () => Promise<void>): void {
    this.reloader = reload;
  }

  private controlActions(): ControlActions {
    return {
      stats: async () => {
        const others = (await this.serving?.ask<ServingStats>({ t: 'stats' })) ?? [];
        return {
          pid: process.pid,
          uptime_s: Math.round((Date.now() - this.startedAt) / 1000),
          mechanisms: this.config.mechs.join(','),
          serving_processes: 1 + others.length,
          logins_decided: others.reduce((n, o) => n + o.served, this.served),
          cache_entries: others.reduce((n, o) => n + o.cacheEntries, this.auth.cacheEntries),
          penalised_addresses: this.penalties.size,
        };
      },
      flush: async (login) => {
        const others = (await this.serving?.ask<number>({ t: 'flush', login })) ?? [];
        return others.reduce((n, o) => n + o, this.flushLocal(login));
      },
      reload: async () => {
        if (!this.reloader) throw new Error('reload is not available in this process');
        await this.reloader();
      },
      penalties: (ip) => {
        if (ip !== undefined && !canonicalIp(ip)) throw new Error(`${JSON.stringify(ip)} is not an IP address`);
        return this.penalties.list(ip === undefined ? undefined : canonicalIp(ip));
      },
      clearPenalty: (ip) => {
        // uid:N, a local user counted by uid, is this daemon's alone.
        const local = parseLocalPeerKey(ip);
        if (local) return this.penalties.clear(local);
        const canonical = canonicalIp(ip);
        if (!canonical) throw new Error(`${JSON.stringify(ip)} is not an IP address nor uid:N`);
        this.sharedPenalty?.clear(penaltyKey(canonical));
        const cleared = this.penalties.clear(canonical);
        if (cleared) this.log.info(logLine`control: penalty of ${canonical} cleared`);
        return cleared;
      },
    };
  }

  /**
   * A saslauthd request the cache answers without waiting for anything,
   * in the turn it arrived; undefined sends it to handle(). The same
   * counts, log line and relay grant as handle() gives.
   */
  private answerAtOnce(r: SaslauthdRequest, trusted: boolean, uid: number | undefined): Buffer | undefined {
    const req = asPeer(saslauthd.toAuthRequest(r, trusted), trusted, uid);
    const now = this.decideAtOnce(req, trusted);
    return now && this.saslauthdAnswer(req, now.outcome, now.clock, trusted);
  }

  /** A cached success decided without waiting, past the penalty gate, timed and counted as served; undefined when it is not to be had. */
  private decideAtOnce(req: AuthRequest, trusted: boolean): { outcome: GateOutcome; clock: Clock } | undefined {
    const auth = this.auth;
    const clock: Clock = { start: performance.now(), end: 0 };
    const outcome = this.gate.runAtOnce(req, () => auth.answerAtOnce(req, { trusted }));
    if (!outcome) return undefined;
    clock.end = performance.now();
    this.served++;
    return { outcome, clock };
  }

  private async handle(r: SaslauthdRequest, gone: AbortSignal, trusted: boolean, uid: number | undefined): Promise<Buffer> {
    this.served++;
    const req = asPeer(saslauthd.toAuthRequest(r, trusted), trusted, uid);
    const auth = this.auth;
    const clock: Clock = { start: 0, end: 0 };
    const outcome = await this.gate.run(req, gone, () => timed(clock, () => auth.authenticate(req, { signal: gone, trusted })));
    if (!gone.aborted) return this.saslauthdAnswer(req, outcome, clock, trusted);
    // A client that left is no login attempt worth a log line: a flood of them must not fill the log.
    this.count('saslauthd', outcome.result, outcome.penaltyMs, clock);
    return saslauthd.reply(outcome.result, outcome.result.mech, trusted);
  }

  private saslauthdAnswer(req: AuthRequest, { result, penaltyMs }: GateOutcome, clock: Clock, trusted: boolean): Buffer {
    this.count('saslauthd', result, penaltyMs, clock);
    const login = this.auth.effectiveLogin(req);
    logResult(this.log, this.config.verbose, login === req.login ? req : { ...req, login }, result.mech, result);
    // The saslauthd client is not kept waiting for the relay store; a login with no address gets no grant (RelayTracker.decide).
    // A success answered from the cache while the source is down does not say whether the account may relay: no grant.
    if (result.kind === 'ok' && !result.stale && req.clientIp !== undefined) void this.recordRelay({ service: req.service, clientIp: req.clientIp, mayRelay: result.record?.mayRelay, user: req.login });
    return saslauthd.reply(result, result.mech, trusted);
  }

  private async handleDoor(r: DoorRequest, gone: AbortSignal, trusted: boolean, uid: number | undefined): Promise<Buffer> {
    this.served++;
    const req = asPeer(cpSocket.toAuthRequest(r, trusted), trusted, uid);
    const clock: Clock = { start: 0, end: 0 };
    const { result, penaltyMs } = await this.gate.run(req, gone, () => timed(clock, () => this.auth.authenticate(req, { needRecord: true, signal: gone, trusted })));
    this.count('checkpassword', result, penaltyMs, clock);
    if (gone.aborted) return cpSocket.encode({ kind: 'temp', reason: 'client gone' });
    logResult(this.log, this.config.verbose, req, `${result.mech}/checkpassword`, result);
    const reply = cpSocket.replyOf(result, trusted);
    // The grant is in the store before the next program (the POP session) starts, as with vchkpw.
    if (reply.kind === 'ok') await this.recordRelay({ service: req.service, clientIp: req.clientIp, mayRelay: reply.account.mayRelay, user: req.login });
    return cpSocket.encode(reply);
  }

  /** As answerAtOnce, for a Dovecot AUTH whose credentials are complete. */
  private dovecotAtOnce(l: DovecotLogin, trusted: boolean, uid: number | undefined): Buffer | undefined {
    const req = asPeer(dovecot.toAuthRequest(l.login, l.password, l.auth, trusted, l.challenge), trusted, uid);
    const now = this.decideAtOnce(req, trusted);
    return now && this.dovecotAnswer(l, req, now.outcome, now.clock, trusted);
  }

  private async handleDovecot(l: DovecotLogin, gone: AbortSignal, trusted: boolean, uid: number | undefined): Promise<Buffer> {
    this.served++;
    const req = asPeer(dovecot.toAuthRequest(l.login, l.password, l.auth, trusted, l.challenge), trusted, uid);
    const clock: Clock = { start: 0, end: 0 };
    const outcome = await this.gate.run(req, gone, () => timed(clock, () => this.auth.authenticate(req, { signal: gone, trusted })));
    if (!gone.aborted) return this.dovecotAnswer(l, req, outcome, clock, trusted);
    this.count('dovecot', outcome.result, outcome.penaltyMs, clock);
    return dovecot.reply(l.auth.id, req.login, outcome.result, trusted);
  }

  private dovecotAnswer(l: DovecotLogin, req: AuthRequest, { result, penaltyMs }: GateOutcome, clock: Clock, trusted: boolean): Buffer {
    this.count('dovecot', result, penaltyMs, clock);
    logResult(this.log, this.config.verbose, req, `${result.mech}/dovecot`, result);
    // Postfix holds the SMTP client while it waits: the relay store is not waited for, as on the saslauthd socket.
    if (result.kind === 'ok' && !result.stale && req.clientIp !== undefined) void this.recordRelay({ service: req.service, clientIp: req.clientIp, mayRelay: result.record?.mayRelay, user: req.login });
    return dovecot.reply(l.auth.id, req.login, result, trusted);
  }

  /** Counted whether or not the client stayed for the answer: the check was made all the same. */
  private count(door: Door, result: Decided, penaltyMs: number, clock: Clock): void {
    const m = this.metrics;
    if (!m) return;
    if (penaltyMs > 0) m.penalised();
    // A request that left while penalised was never checked: no duration, no cache lookup, no backend error.
    const checked = clock.end > 0;
    const cache = checked && this.config.cache.enabled ? result.kind === 'ok' && result.cached : undefined;
    m.request(door, result.mech, result.kind, checked ? (clock.end - clock.start) / 1000 : undefined, cache);
  }

  /** A lookup the source could not answer is logged: the MTA defers mail on it. */
  private async handleUserdb(cmd: UserCommand): Promise<Buffer> {
    const found = await this.auth.findAccount(userdb.toLookupRequest(cmd));
    if (found.kind === 'tempfail') this.log.error(logLine`userdb lookup of ${cmd.user} (${found.mech}/dovecot): ${found.reason}`);
    return userdb.reply(cmd, found);
  }

  /** Refused before any check (another authzid, bad base64, an empty field): logged like a failed login, for fail2ban. */
  private dovecotRefused(r: DovecotRefusal, trusted: boolean): void {
    const req = dovecot.toAuthRequest(r.login ?? Buffer.alloc(0), Buffer.alloc(0), r.auth, trusted);
    this.log.info(auditLine('auth failure', req, `${this.auth.name}/dovecot`, r.why));
  }

  /** A store that fails costs the relay grant, never the login: logged. A serving process hands it to the first. */
  private async recordRelay(f: LoginFacts): Promise<void> {
    if (this.link) {
      if (f.clientIp !== undefined) this.link.grant(f);
      return;
    }
    if (!this.relay) return;
    try {
      await this.relay.recordLogin(f);
    } catch (err) {
      this.log.error(logLine`relay: grant for ${f.clientIp} (login of ${f.user}) not recorded: ${(err as Error).message}`);
    }
  }

  /** SIGHUP: take the new config's pipeline settings and start with an empty cache. */
  async reload(next: Config): Promise<void> {
    if (next.socketPath !== this.config.socketPath) this.log.warn('the run directory (-m) changes only with a restart');
    if (next.cryptEngine !== this.config.cryptEngine || next.cryptConcurrency !== this.config.cryptConcurrency) {
      this.log.warn('crypt_engine and -n change only with a restart');
    }
    const relayKeys = (c: Config) => JSON.stringify({ ...c.relay, ignore: c.relay.ignore.text, services: [...c.relay.services] });
    if (relayKeys(next) !== relayKeys(this.config)) this.log.warn('relay_* keys change only with a restart');
    const limitKeys = (c: Config) => JSON.stringify([c.maxConnections, c.maxConnectionsPerUser, c.trustedUsers, c.requestTimeoutMs, c.idleTimeoutMs]);
    if (JSON.stringify([next.dovecot, next.dovecotUserdbSocket]) !== JSON.stringify([this.config.dovecot, this.config.dovecotUserdbSocket])) this.log.warn('dovecot_* keys change only with a restart');
    if (JSON.stringify(next.metricsListen) !== JSON.stringify(this.config.metricsListen)) this.log.warn('metrics_listen changes only with a restart');
    if (limitKeys(next) !== limitKeys(this.config)) this.log.warn('max_connections, max_connections_per_user, trusted_users, request_timeout and idle_timeout change only with a restart');
    if (next.serveProcesses !== this.config.serveProcesses) this.log.warn('serve_processes changes only with a restart');
    if (JSON.stringify(next.penalty.shared) !== JSON.stringify(this.config.penalty.shared)) this.log.warn('penalty_store and penalty_redis_prefix change only with a restart');
    for (const w of next.warnings) this.log.warn(w);
    const old = this.auth;
    const fresh = await buildChain({ ...next, cryptEngine: this.config.cryptEngine }, this.verifier, this.log);
    // A new source that cannot serve must not replace one that can; nor may its connections linger.
    try {
      fresh.check();
    } catch (err) {
      void fresh.close().catch(() => undefined);
      throw err;
    }
    this.auth = fresh;
    this.config = { ...next, socketPath: this.config.socketPath, runDir: this.config.runDir, pidFile: this.config.pidFile };
    this.gate = gateFor(next, this.penalties, this.sharedPenalty);
    old.flushCache();
    void old.close().catch((err: Error) => this.log.warn(`closing the previous sources: ${err.message}`));
    this.serving?.reloaded();
    this.log.info(`configuration reloaded (mech ${next.mechs.join(',')}); cache flushed`);
  }

  async stop(): Promise<void> {
    // The others first: they answer what they hold while this one still owns the socket's path.
    await this.serving?.stop(30_000);
    await Promise.all([this.control?.close(), this.server.close(), this.door?.close(), this.socketmap?.close(), this.dovecot?.close(), this.userdb?.close(), this.metrics?.close()]);
    this.limits.close();
    await this.relay?.close();
    await this.sharedPenalty?.close();
    if (!this.link) removeQuietly(this.config.pidFile);
    await this.auth.close();
    await this.verifier.close();
  }
}

/**
 * A request from a local user who is not trusted carries no believed
 * address: its failures count against the user instead, so a shell account
 * cannot guess passwords at full speed on the 0777 socket.
 */
function asPeer(req: AuthRequest, trusted: boolean, uid: number | undefined): AuthRequest {
  return trusted || uid === undefined ? req : { ...req, localPeer: uid };
}

async function timed(clock: Clock, check: () => Promise<Decided>): Promise<Decided> {
  clock.start = performance.now();
  try {
    return await check();
  } finally {
    clock.end = performance.now();
  }
}
