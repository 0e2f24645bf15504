import { SystemdNotifier } from '../os/sd-notify.js';
import { parseSaslauthdArgs, SUPPORTED_MECHS, type Config } from '../config/config.js';
import { ConfigError } from '../config/errors.js';
import { createLogger, SwitchableLogger, type Logger } from '../log.js';
import { Daemon } from '../server/daemon.js';
import { VERSION } from '../version.js';
import { FirstProcessLink } from '../server/first-process-link.js';
import { SERVING_PROCESS_VAR } from '../server/serving-messages.js';
import { isDetachedChild, reportToParent, runDetached, servingCommand } from './daemonize.js';
import { hashPoolThreads } from './hash-pool.js';
import { limitHeapGrowth } from './heap-growth.js';

const USAGE = `usage: authmux saslauthd [options]
  -a mech[,mech...]
               authentication mechanisms, asked in this order: ${SUPPORTED_MECHS.join(', ')}
               (required, or config key mech)
  -c           enable the credential cache
  -d           debug: stay in the foreground, verbose, log to stderr
  -f           stay in the foreground without verbose logging
  -h           this help
  -l           accepted for compatibility (no accept lock is needed)
  -m dir       run directory, absolute (default /var/run/saslauthd); socket <dir>/mux
  -n N         hash verifications run at once (default 5; 0 = one per CPU),
               shared out among serve_processes
  -O file      configuration file (else $AUTHMUX_CONFIG, else /etc/saslauthd.conf);
               with -a rimap, as saslauthd: the IMAP server, host[/port]
  -r           combine realm: check "login@realm" when the realm is not empty
  -s KB        cache size in kilobytes (about ${1024 / 100 | 0} entries a KB)
  -t sec       cache entry lifetime in seconds (default 28800)
  -v           print the version and mechanisms
  -V           verbose: log successful logins too
`;

const PREFIX = 'authmux saslauthd';

function logFor(config: Config): Logger {
  return createLogger({ target: config.log.target, format: config.log.format, verbose: config.verbose, ident: 'saslauthd' });
}

const why = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * The configuration in force in one process: a reload reads the command
 * line and file again and hands them to the daemon, and the log follows
 * its log_target (reopened on SIGUSR1, replaced on a reload).
 */
class InForce {
  constructor(
    private readonly argv: readonly string[],
    private readonly daemon: Daemon,
    private readonly log: SwitchableLogger,
    private config: Config,
  ) {}

  async reload(): Promise<void> {
    const next = parseSaslauthdArgs(this.argv, process.env);
    if (next.action !== 'serve') return;
    await this.daemon.reload(next.config);
    this.log.swap(logFor(next.config));
    this.config = next.config;
  }

  reopenLog(): void {
    this.log.swap(logFor(this.config));
  }
}

/** Stops the daemon, then closes the log: 0, or 1 when stopping failed (said in the log). `stopped` runs first on success. */
async function stopDaemon(daemon: Daemon, log: Logger, stopped: () => void = () => undefined): Promise<number> {
  try {
    await daemon.stop();
  } catch (err) {
    log.error(`error while stopping: ${String(err)}`);
    log.close();
    return 1;
  }
  stopped();
  log.close();
  return 0;
}

export async function saslauthdMain(argv: readonly string[]): Promise<number> {
  limitHeapGrowth();
  if (process.env[SERVING_PROCESS_VAR] !== undefined) return servingMain(argv);
  let inv;
  try {
    inv = parseSaslauthdArgs(argv, process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${PREFIX}: ${err.message}\n${err.message.startsWith('unknown option') ? USAGE : ''}`);
      if (isDetachedChild(process.env)) reportToParent(`${PREFIX}: ${err.message}`);
      return 1;
    }
    throw err;
  }
  if (inv.action === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (inv.action === 'version') {
    process.stdout.write(`authmux saslauthd ${VERSION}\nauthentication mechanisms: ${SUPPORTED_MECHS.join(' ')}\n`);
    return 0;
  }
  const config = inv.config;
  const child = isDetachedChild(process.env);
  if (!config.foreground && !child) return runDetached();

  // libxcrypt hashes run on libuv's pool, sized -n; the daemon does no other pool work
  // (file reads are synchronous and small), so nothing else queues behind a slow hash.
  const hashPool = hashPoolThreads(config.cryptConcurrency);

  let log: SwitchableLogger;
  try {
    log = new SwitchableLogger(logFor(config));
  } catch (err) {
    const msg = why(err);
    process.stderr.write(`${PREFIX}: ${msg}\n`);
    if (child) reportToParent(`${PREFIX}: ${msg}`);
    return 1;
  }
  // The socket answers (and the log says so) before start returns: a signal in between must not kill
  // the daemon by Node's default action. It is kept and acted on once the handlers below are in place.
  let early: 'SIGTERM' | 'SIGINT' | undefined;
  const holders: Array<[NodeJS.Signals, () => void]> = [
    ['SIGTERM', () => (early ??= 'SIGTERM')],
    ['SIGINT', () => (early ??= 'SIGINT')],
    ['SIGHUP', () => undefined],
    ['SIGUSR1', () => undefined],
  ];
  for (const [sig, h] of holders) process.on(sig, h);
  let daemon: Daemon;
  try {
    // Each serving process's pool is its share of -n.
    const command = servingCommand({ ...process.env, UV_THREADPOOL_SIZE: String(config.cryptConcurrency) });
    daemon = await Daemon.start(config, log, { kind: 'first', command }, hashPool);
  } catch (err) {
    const msg = why(err);
    log.error(`cannot start: ${msg}`);
    if (child) reportToParent(`${PREFIX}: ${msg}`);
    else if (config.log.target.kind !== 'stderr') process.stderr.write(`${PREFIX}: ${msg}\n`);
    log.close();
    return 1;
  }
  if (child) reportToParent('ready');
  const systemd = new SystemdNotifier(process.env, (err) => log.warn(`systemd notify: ${err.message}`));
  const status = () => `${daemon.served} logins decided`;
  systemd.ready(status);

  const current = new InForce(argv, daemon, log, config);
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (sig: string) => {
      if (stopping) return;
      stopping = true;
      log.info(`${sig}: stopping`);
      systemd.stopping();
      void stopDaemon(daemon, log, () => {
        log.info('stopped');
        systemd.close();
      }).then(resolve);
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    /** SIGHUP and `authmux ctl reload` alike; the latter hears whether it worked. */
    const reloadTold = () => {
      systemd.reloading();
      // Ready again either way: a reload that failed leaves the old configuration serving.
      return current.reload().finally(() => systemd.send('READY=1', `STATUS=${status()}`));
    };
    daemon.setReloader(reloadTold);
    process.on('SIGHUP', () => {
      reloadTold().catch((err: unknown) => log.error(`SIGHUP: configuration not reloaded: ${why(err)}`));
    });
    // logrotate's postrotate: the file moved away is closed, and log_target is opened anew.
    process.on('SIGUSR1', () => {
      try {
        current.reopenLog();
        daemon.logReopened();
        log.info('SIGUSR1: log reopened');
      } catch (err) {
        log.error(`SIGUSR1: log not reopened, still writing to the old file: ${why(err)}`);
      }
    });
    for (const [sig, h] of holders) process.off(sig, h);
    if (early) stop(early);
  });
}

/**
 * A serving process (serve_processes): started by the first with the same
 * command line, it accepts on the first's saslauthd socket. It stops on
 * SIGTERM or when the first is gone; reloads and log reopening come from
 * the first, so the signals an admin or a terminal sends the group
 * (SIGHUP, SIGUSR1, SIGINT) are the first's to act on.
 */
async function servingMain(argv: readonly string[]): Promise<number> {
  delete process.env[SERVING_PROCESS_VAR];
  for (const sig of ['SIGHUP', 'SIGUSR1', 'SIGINT'] as const) process.on(sig, () => undefined);
  const link = await FirstProcessLink.connect();
  const inv = (() => {
    try {
      return parseSaslauthdArgs(argv, process.env);
    } catch (err) {
      return err instanceof Error ? err : new Error(String(err));
    }
  })();
  if (inv instanceof Error || inv.action !== 'serve') {
    link.failed(inv instanceof Error ? inv.message : 'no daemon to run');
    return 1;
  }
  const hashPool = hashPoolThreads(inv.config.cryptConcurrency);
  const log = new SwitchableLogger(logFor(inv.config));
  let stopAsked: ((why: string) => void) | undefined;
  const early = (why: string) => (stopAsked ? stopAsked(why) : process.exit(0));
  process.on('SIGTERM', () => early('SIGTERM'));
  let daemon: Daemon;
  try {
    daemon = await Daemon.start(inv.config, log, { kind: 'serving', link }, hashPool);
  } catch (err) {
    link.failed(why(err));
    log.close();
    return 1;
  }
  const current = new InForce(argv, daemon, log, inv.config);
  return new Promise<number>((resolve) => {
    let stopping = false;
    stopAsked = (cause) => {
      if (stopping) return;
      stopping = true;
      log.debug(`${cause}: serving process stopping`);
      void stopDaemon(daemon, log).then(resolve);
    };
    const reload = async () => {
      try {
        await current.reload();
      } catch (err) {
        log.error(`configuration not reloaded: ${why(err)}`);
        throw err;
      }
    };
    const reopenLog = () => {
      try {
        current.reopenLog();
      } catch (err) {
        log.error(`log not reopened, still writing to the old file: ${why(err)}`);
      }
    };
    link.serve(daemon.servingOrders(reload, reopenLog, () => stopAsked!('the first process is gone')));
  });
}
