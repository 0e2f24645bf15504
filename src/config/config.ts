import type { RedisTarget } from './redis-target.js';
import type { AddressSet } from '../net/address.js';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { cpus } from 'node:os';
import type { SaslMechanism } from '../protocol/sasl-mechanisms.js';
import { parseConfFile } from './conf-file.js';
import { ConfigError } from './errors.js';
import { getopt } from './getopt.js';
import { BYTES_PER_CACHE_ENTRY, KEYS, readKeys, type Setting } from './keys.js';
import { parseInteger, parseWords } from './values.js';
import { buildRelayConfig, type RelayConfig } from './relay.js';
import { buildRimapConfig, type RimapConfig } from './rimap.js';
import { buildVpopmailConfig, type VpopmailConfig } from './vpopmail.js';
import { buildLdapConfig, type LdapConfig } from './ldap.js';
import type { MetricsListen } from './metrics-listen.js';

export const DEFAULT_CONFIG_FILE = '/etc/saslauthd.conf';
export const DEFAULT_RUN_DIR = '/var/run/saslauthd';
/** saslauthd's option string, plus -f from its unreleased master. */
export const SASLAUTHD_OPTSTRING = 'a:cdfhO:lm:n:rs:t:vV';
export const SUPPORTED_MECHS = ['shadow', 'getpwent', 'sasldb', 'vpopmail', 'pam', 'ldap', 'rimap'] as const;
export type Mech = (typeof SUPPORTED_MECHS)[number];
/** Mechanisms saslauthd knows that Authmux does not serve: named in the error. */
const FOREIGN_MECHS = ['kerberos5', 'httpform', 'sia', 'dce'];

export type LogTarget = { kind: 'stderr' } | { kind: 'syslog'; path: string } | { kind: 'file'; path: string };
/** Which hash verifier: libxcrypt when it loads, the pure-JS fallbacks, or either (auto). */
export type CryptEngine = 'auto' | 'libxcrypt' | 'js';

export interface Config {
  /**
   * -a or the key mech: the mechanisms asked in turn, each only when the ones
   * before it do not know the user; empty when none is named (only the daemon
   * and the checkpassword program need one).
   */
  readonly mechs: readonly Mech[];
  readonly runDir: string;
  readonly socketPath: string;
  readonly pidFile: string;
  /** The config file that was read, or undefined when the default one is absent. */
  readonly configFile: string | undefined;
  readonly foreground: boolean;
  readonly debug: boolean;
  readonly verbose: boolean;
  readonly combineRealm: boolean;
  /** -n: how many hash verifications may run at once in this process (-n shared out among serveProcesses, at least 1 each). */
  readonly cryptConcurrency: number;
  readonly cryptEngine: CryptEngine;
  readonly passwdFile: string;
  readonly shadowFile: string;
  readonly sasldbPath: string;
  /** The realm an empty request realm stands for in sasldb: the short host name unless configured. */
  readonly sasldbDefaultRealm: string;
  /** Dovecot's authentication penalty per client address, and the delay of every failure. */
  readonly penalty: {
    readonly enabled: boolean;
    readonly maxMs: number;
    readonly trusted: AddressSet;
    readonly failureDelayMs: number;
    /** penalty_store: redis: where the fleet's counts are kept. */
    readonly shared: { readonly target: RedisTarget; readonly prefix: string } | undefined;
  };
  /** -a pam: how long a transaction may take, and how long a cached success may answer under stacks with no change signal. */
  readonly pam: { readonly timeoutMs: number; readonly cacheTtlMs: number };
  readonly checkpassword: {
    /** Where the daemon answers the checkpassword program; undefined: the program checks the backend itself. */
    readonly socket: string | undefined;
    /** The service when neither SERVICE nor TCPLOCALPORT tells it. */
    readonly defaultService: string;
    /** The system account whose uid and gid virtual (sasldb, vpopmail) logins run as. */
    readonly virtualUser: string;
    /** Home of a sasldb login: %u user, %d realm; undefined: <virtual user's home>/%d/%u. */
    readonly virtualHome: string | undefined;
  };
  /** Dovecot's auth-client protocol (Postfix, Exim), on a socket of its own. */
  readonly dovecot: {
    /** undefined: not served. */
    readonly socket: string | undefined;
    readonly mode: number;
    /** Owner and group of the socket, names or numbers; undefined: the daemon's own. */
    readonly user: string | undefined;
    readonly group: string | undefined;
    readonly mechanisms: readonly SaslMechanism[];
  };
  /** Dovecot's userdb lookups (does an account exist; no password), made like the dovecot socket; undefined: not served. */
  readonly dovecotUserdbSocket: string | undefined;
  /** Where /metrics is served; undefined: not served. */
  readonly metricsListen: MetricsListen | undefined;
  /** Present when vpopmail is one of the mechanisms. */
  readonly vpopmail: VpopmailConfig | undefined;
  /** Present when rimap is one of the mechanisms. */
  readonly rimap: RimapConfig | undefined;
  /** Present when ldap is one of the mechanisms. */
  readonly ldap: LdapConfig | undefined;
  /** POP-before-SMTP: which logins open relay, where grants are kept and who is told. */
  readonly relay: RelayConfig;
  readonly cache: { readonly enabled: boolean; readonly ttlMs: number; readonly entries: number };
  readonly log: { readonly target: LogTarget; readonly format: 'text' | 'json' };
  readonly requestTimeoutMs: number;
  /** How long a connection that serves many requests (the socketmap) may sit idle between them. */
  readonly idleTimeoutMs: number;
  /** All connections to all of the daemon's sockets at once. */
  readonly maxConnections: number;
  /** Connections one user outside trustedUsers may hold at once. */
  readonly maxConnectionsPerUser: number;
  /** Accounts (names or uids) bound only by maxConnections; root always is. */
  readonly trustedUsers: readonly string[];
  /** Processes accepting on the saslauthd socket, the first included (serve_processes). */
  readonly serveProcesses: number;
  readonly warnings: readonly string[];
}

/** What `-v`, `-h` or a normal start asks for. */
export type SaslauthdInvocation =
  | { readonly action: 'version' }
  | { readonly action: 'help' }
  | { readonly action: 'serve'; readonly config: Config; readonly argv: readonly string[] };

/** Every key the configuration file knows, in the table's order. */
export const CONFIG_KEYS = Object.keys(KEYS) as ReadonlyArray<keyof typeof KEYS>;

/** Every command finds the config file the same way: -O, then AUTHMUX_CONFIG, then the default. */
export function locateConfigFile(explicit: string | undefined, env: NodeJS.ProcessEnv): { path: string; required: boolean } {
  if (explicit) return { path: resolve(explicit), required: true };
  const fromEnv = env['AUTHMUX_CONFIG'];
  if (fromEnv) return { path: resolve(fromEnv), required: true };
  return { path: DEFAULT_CONFIG_FILE, required: false };
}

function readSettings(path: string, required: boolean): Map<string, Setting> | undefined {
  if (!required && !existsSync(path)) return undefined;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  const map = new Map<string, Setting>();
  for (const e of parseConfFile(text, path)) map.set(e.key, { value: e.value, where: `${path}:${e.line}` });
  return map;
}

/** What saslauthd's flags set; each wins over its key in the file. */
export interface FlagSettings {
  readonly mech?: string;
  readonly runDir?: string;
  readonly foreground?: boolean;
  readonly debug?: boolean;
  readonly verbose?: boolean;
  readonly combineRealm?: boolean;
  readonly cryptConcurrency?: number;
  readonly cacheEnabled?: boolean;
  readonly cacheTtlMs?: number;
  readonly cacheKilobytes?: number;
  /** -O when -a names rimap: the IMAP server, host[/port], as saslauthd reads it. */
  readonly rimapServer?: string;
}

export interface LoadOptions {
  /** -O, else $AUTHMUX_CONFIG, else /etc/saslauthd.conf when it exists. */
  readonly file?: string | undefined;
  readonly env: NodeJS.ProcessEnv;
  readonly flags?: FlagSettings;
}

/**
 * The list -a or mech names, split at commas and spaces (`shadow,sasldb`,
 * `shadow sasldb`). A name given twice is refused rather than dropped: the
 * admin meant some other order or some other mechanism.
 */
function mechsOf(raw: string | undefined, where: string): readonly Mech[] {
  if (raw === undefined) return [];
  const names = parseWords(raw.toLowerCase());
  if (names.length === 0) throw new ConfigError(`${where}: no mechanism named; supported: ${SUPPORTED_MECHS.join(', ')}`);
  const mechs: Mech[] = [];
  for (const name of names) {
    if (!(SUPPORTED_MECHS as readonly string[]).includes(name)) {
      const known = FOREIGN_MECHS.includes(name) ? `${name} is a saslauthd mechanism Authmux does not serve` : `unknown mechanism ${JSON.stringify(name)}`;
      throw new ConfigError(`${where}: ${known}; supported: ${SUPPORTED_MECHS.join(', ')}`);
    }
    if (mechs.includes(name as Mech)) throw new ConfigError(`${where}: ${name} is named twice; each mechanism is asked once, in the order given`);
    mechs.push(name as Mech);
  }
  return mechs;
}

/** The configuration every command uses: the file's keys through the table, then the flags given. */
export function loadConfig(opts: LoadOptions): Config {
  const flags = opts.flags ?? {};
  const located = locateConfigFile(opts.file, opts.env);
  const settings = readSettings(located.path, located.required);
  const runDir = flags.runDir ?? DEFAULT_RUN_DIR;
  const debug = flags.debug === true;
  const foreground = debug || flags.foreground === true;
  const warnings: string[] = [];
  const keys = readKeys(settings ?? new Map(), { confDir: dirname(located.path), runDir, foreground, env: opts.env });
  const { values: v, whereOf } = keys;
  const mechs = flags.mech !== undefined ? mechsOf(flags.mech, `-a ${flags.mech}`) : mechsOf(v.mech, whereOf('mech'));
  for (const u of keys.unsupported) {
    // A file shared with a saslauthd of another mechanism still loads; for -a ldap the key would change what is checked.
    if (mechs.includes('ldap')) throw new ConfigError(`${u.where}: ${u.name} is not supported: ${u.why}`);
    warnings.push(`${u.where}: ${u.name} ignored (not supported, and ldap is not a mechanism here): ${u.why}`);
  }
  const threads = flags.cryptConcurrency ?? 5;
  const serveProcesses = v.serve_processes === 0 ? Math.max(1, cpus().length) : v.serve_processes;
  const logTarget = v.log_target;
  return {
    mechs,
    runDir,
    socketPath: `${runDir}/mux`,
    pidFile: `${runDir}/saslauthd.pid`,
    configFile: settings ? located.path : undefined,
    foreground,
    debug,
    verbose: debug || flags.verbose === true,
    combineRealm: flags.combineRealm === true,
    // -n stays the whole daemon's, as saslauthd's -n counts all its processes: more threads than cores only lengthen the tail.
    cryptConcurrency: Math.ceil((threads === 0 ? Math.max(1, cpus().length) : threads) / serveProcesses),
    cryptEngine: v.crypt_engine,
    passwdFile: v.passwd_file,
    shadowFile: v.shadow_file,
    sasldbPath: v.sasldb_path,
    sasldbDefaultRealm: v.sasldb_default_realm,
    pam: { timeoutMs: v.pam_timeout, cacheTtlMs: v.pam_cache_ttl },
    checkpassword: {
      socket: v.checkpassword_socket,
      defaultService: v.checkpassword_service,
      virtualUser: v.virtual_user,
      virtualHome: v.virtual_home,
    },
    dovecot: {
      socket: v.dovecot_socket,
      mode: v.dovecot_socket_mode,
      user: v.dovecot_socket_user,
      group: v.dovecot_socket_group,
      mechanisms: v.dovecot_mechanisms,
    },
    dovecotUserdbSocket: v.dovecot_userdb_socket,
    metricsListen: v.metrics_listen,
    vpopmail: mechs.includes('vpopmail') ? buildVpopmailConfig(v, whereOf) : undefined,
    rimap: mechs.includes('rimap') ? buildRimapConfig(v, whereOf, flags.rimapServer, warnings) : undefined,
    ldap: mechs.includes('ldap') ? buildLdapConfig(keys) : undefined,
    relay: buildRelayConfig(v, whereOf),
    cache: {
      enabled: flags.cacheEnabled === true || v.cache,
      ttlMs: flags.cacheTtlMs ?? v.cache_ttl,
      entries: flags.cacheKilobytes !== undefined ? Math.max(1, Math.floor((flags.cacheKilobytes * 1024) / BYTES_PER_CACHE_ENTRY)) : v.cache_size,
    },
    log: {
      // -d logs to stderr whatever the file says, as saslauthd's debug mode does.
      target: debug || logTarget === 'stderr' ? { kind: 'stderr' } : logTarget === 'syslog' ? { kind: 'syslog', path: v.syslog_path } : { kind: 'file', path: logTarget },
      format: v.log_format,
    },
    penalty: {
      enabled: v.penalty,
      maxMs: v.penalty_max,
      trusted: v.penalty_trusted,
      failureDelayMs: v.auth_failure_delay,
      shared: v.penalty_store === 'redis' ? { target: v.relay_redis, prefix: v.penalty_redis_prefix } : undefined,
    },
    requestTimeoutMs: v.request_timeout,
    idleTimeoutMs: v.idle_timeout,
    maxConnections: v.max_connections,
    maxConnectionsPerUser: v.max_connections_per_user,
    trustedUsers: v.trusted_users,
    serveProcesses,
    warnings,
  };
}

/** saslauthd's command line: its flags, then the configuration as every command loads it. */
export function parseSaslauthdArgs(argv: readonly string[], env: NodeJS.ProcessEnv): SaslauthdInvocation {
  const opts = getopt(argv, SASLAUTHD_OPTSTRING);
  if (opts.operands.length > 0) throw new ConfigError(`unexpected argument ${JSON.stringify(opts.operands[0])}`);
  const flag = (f: string) => opts.last.get(f);
  const str = (f: string) => {
    const v = flag(f);
    return typeof v === 'string' ? v : undefined;
  };
  if (flag('h')) return { action: 'help' };
  if (flag('v')) return { action: 'version' };
  const runDir = str('m');
  if (runDir !== undefined && !runDir.startsWith('/')) throw new ConfigError(`-m ${runDir}: the run directory must be an absolute path`);
  const n = str('n');
  const t = str('t');
  const s = str('s');
  const mech = str('a');
  // saslauthd's -O is the mechanism's option: for rimap the IMAP server, for the others a file.
  const rimapServer = mech !== undefined && parseWords(mech.toLowerCase()).includes('rimap') ? str('O') : undefined;
  const config = loadConfig({
    file: rimapServer === undefined ? str('O') : undefined,
    env,
    flags: {
      mech,
      rimapServer,
      runDir,
      foreground: flag('f') === true,
      debug: flag('d') === true,
      verbose: flag('V') === true,
      combineRealm: flag('r') === true,
      cryptConcurrency: n === undefined ? undefined : parseInteger(n, '-n', 0, 1024),
      cacheEnabled: flag('c') === true,
      cacheTtlMs: t === undefined ? undefined : parseInteger(t, '-t', 1) * 1000,
      cacheKilobytes: s === undefined ? undefined : parseInteger(s, '-s', 1, 1_000_000),
    },
  });
  if (config.mechs.length === 0) throw new ConfigError('no mechanism: give -a or the config key mech');
  return { action: 'serve', argv, config };
}
