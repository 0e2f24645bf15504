import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { cpus, hostname } from 'node:os';
import type { CryptEngine } from '../crypt/verifier.js';
import { parseConfFile } from './conf-file.js';
import { ConfigError } from './errors.js';
import { getopt } from './getopt.js';
import { parseBool, parseChoice, parseInteger, parseSeconds, parseWords } from './values.js';
import { parseRelayConfig, type RelayConfig } from './relay.js';
import { parseVpopmailConfig, type VpopmailConfig } from './vpopmail.js';

export const DEFAULT_CONFIG_FILE = '/etc/saslauthd.conf';
export const DEFAULT_RUN_DIR = '/var/run/saslauthd';
/** saslauthd's option string, plus -f from its unreleased master. */
export const SASLAUTHD_OPTSTRING = 'a:cdfhO:lm:n:rs:t:vV';
export const SUPPORTED_MECHS = ['shadow', 'getpwent', 'sasldb', 'vpopmail'] as const;
export type Mech = (typeof SUPPORTED_MECHS)[number];
/** Mechanisms saslauthd knows that Authmux does not serve: named in the error. */
const FOREIGN_MECHS = ['pam', 'ldap', 'kerberos5', 'rimap', 'httpform', 'sia', 'dce'];

export type LogTarget = { kind: 'stderr' } | { kind: 'syslog'; path: string } | { kind: 'file'; path: string };

export interface Config {
  readonly mech: Mech;
  readonly runDir: string;
  readonly socketPath: string;
  readonly pidFile: string;
  /** The config file that was read, or undefined when the default one is absent. */
  readonly configFile: string | undefined;
  readonly foreground: boolean;
  readonly debug: boolean;
  readonly verbose: boolean;
  readonly combineRealm: boolean;
  /** -n: how many hash verifications may run at once. */
  readonly cryptConcurrency: number;
  readonly cryptEngine: CryptEngine;
  readonly passwdFile: string;
  readonly shadowFile: string;
  readonly sasldbPath: string;
  /** The realm an empty request realm stands for in sasldb: the short host name unless configured. */
  readonly sasldbDefaultRealm: string;
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
  /** Present when mech is vpopmail. */
  readonly vpopmail: VpopmailConfig | undefined;
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
  readonly warnings: readonly string[];
}

/** What `-v`, `-h` or a normal start asks for. */
export type SaslauthdInvocation =
  | { readonly action: 'version' }
  | { readonly action: 'help' }
  | { readonly action: 'serve'; readonly config: Config; readonly argv: readonly string[] };

/** Keys understood in the config file, with the text used for warnings and docs. */
export const CONFIG_KEYS = [
  'mech',
  'passwd_file',
  'shadow_file',
  'sasldb_path',
  'sasldb_default_realm',
  'cache',
  'cache_ttl',
  'cache_size',
  'log_target',
  'log_format',
  'syslog_path',
  'request_timeout',
  'idle_timeout',
  'max_connections',
  'max_connections_per_user',
  'trusted_users',
  'crypt_engine',
  'vpopmail_sql',
  'vpopmail_config_file',
  'vpopmail_driver',
  'vpopmail_layout',
  'vpopmail_default_domain',
  'vpopmail_clear_passwords',
  'vpopmail_lastauth',
  'vpopmail_service_flags',
  'vpopmail_query_timeout',
  'vpopmail_pool_size',
  'checkpassword_socket',
  'checkpassword_service',
  'virtual_user',
  'virtual_home',
  'relay_store',
  'relay_ttl',
  'relay_ignore',
  'relay_services',
  'relay_file',
  'relay_redis',
  'relay_redis_prefix',
  'relay_datagram',
  'relay_socketmap',
  'relay_text_map',
  'relay_rebuild_command',
  'relay_cdb',
  'relay_cdb_rules',
  'relay_expire_interval',
] as const;

const DEFAULT_CACHE_TTL_S = 28800;
/** saslauthd sizes its cache in kilobytes of shared memory; about this many bytes an entry. */
const BYTES_PER_CACHE_ENTRY = 100;
const DEFAULT_CACHE_ENTRIES = 10_000;
/** A burst of 2,000 logins from the MTA fits in the half ordinary users can never take. */
const DEFAULT_MAX_CONNECTIONS = 4096;
const DEFAULT_MAX_CONNECTIONS_PER_USER = 32;
/** The accounts MTAs and IMAP servers run as on Debian and elsewhere; those a system lacks are skipped. */
export const DEFAULT_TRUSTED_USERS = ['root', 'postfix', 'Debian-exim', 'exim', 'mail', 'dovecot', 'cyrus', 'smmsp'];
/** Postfix closes an idle socketmap connection after 10 s and reconnects when it needs one. */
const DEFAULT_IDLE_TIMEOUT_MS = 60_000;

/** Every command finds the config file the same way: -O, then AUTHMUX_CONFIG, then the default. */
export function locateConfigFile(explicit: string | undefined, env: NodeJS.ProcessEnv): { path: string; required: boolean } {
  if (explicit) return { path: resolve(explicit), required: true };
  const fromEnv = env['AUTHMUX_CONFIG'];
  if (fromEnv) return { path: resolve(fromEnv), required: true };
  return { path: DEFAULT_CONFIG_FILE, required: false };
}

function readConf(path: string, required: boolean): Map<string, { value: string; where: string }> | undefined {
  if (!required && !existsSync(path)) return undefined;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  const map = new Map<string, { value: string; where: string }>();
  for (const e of parseConfFile(text, path)) map.set(e.key, { value: e.value, where: `${path}:${e.line}` });
  return map;
}

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

  const located = locateConfigFile(str('O'), env);
  const conf = readConf(located.path, located.required);
  const warnings: string[] = [];
  const known = new Set<string>(CONFIG_KEYS);
  for (const [key, { where }] of conf ?? []) {
    if (!known.has(key)) warnings.push(`${where}: unknown key ${key} ignored`);
  }
  const key = (k: (typeof CONFIG_KEYS)[number]) => conf?.get(k);
  const confDir = dirname(located.path);
  const filePath = (k: (typeof CONFIG_KEYS)[number], dflt: string) => {
    const e = key(k);
    if (!e) return dflt;
    return isAbsolute(e.value) ? e.value : resolve(confDir, e.value);
  };

  const mechRaw = str('a') ?? key('mech')?.value;
  if (!mechRaw) throw new ConfigError('no mechanism: give -a or the config key mech');
  const mech = mechRaw.toLowerCase();
  if (!(SUPPORTED_MECHS as readonly string[]).includes(mech)) {
    const known = FOREIGN_MECHS.includes(mech) ? `${mech} is a saslauthd mechanism Authmux does not serve` : `unknown mechanism ${JSON.stringify(mechRaw)}`;
    throw new ConfigError(`${known}; supported: ${SUPPORTED_MECHS.join(', ')}`);
  }

  const runDir = str('m') ?? DEFAULT_RUN_DIR;
  if (!isAbsolute(runDir)) throw new ConfigError(`-m ${runDir}: the run directory must be an absolute path`);

  const nRaw = str('n');
  const threads = nRaw === undefined ? 5 : parseInteger(nRaw, '-n', 0, 1024);
  const cryptConcurrency = threads === 0 ? Math.max(1, cpus().length) : threads;

  const cacheEnabled = flag('c') === true || (key('cache') ? parseBool(key('cache')!.value, key('cache')!.where) : false);
  const tRaw = str('t');
  const ttlMs = tRaw !== undefined
    ? parseInteger(tRaw, '-t', 1) * 1000
    : key('cache_ttl') ? parseSeconds(key('cache_ttl')!.value, key('cache_ttl')!.where, 1000) : DEFAULT_CACHE_TTL_S * 1000;
  const sRaw = str('s');
  const entries = sRaw !== undefined
    ? Math.max(1, Math.floor((parseInteger(sRaw, '-s', 1, 1_000_000) * 1024) / BYTES_PER_CACHE_ENTRY))
    : key('cache_size') ? parseInteger(key('cache_size')!.value, key('cache_size')!.where, 1, 100_000_000) : DEFAULT_CACHE_ENTRIES;

  const debug = flag('d') === true;
  const foreground = debug || flag('f') === true;
  // A detached daemon has no terminal: like saslauthd it logs to syslog unless told otherwise.
  const targetRaw = key('log_target')?.value ?? (foreground ? 'stderr' : 'syslog');
  const syslogPath = filePath('syslog_path', '/dev/log');
  let target: LogTarget;
  if (debug || targetRaw === 'stderr') target = { kind: 'stderr' };
  else if (targetRaw === 'syslog') target = { kind: 'syslog', path: syslogPath };
  else target = { kind: 'file', path: isAbsolute(targetRaw) ? targetRaw : resolve(confDir, targetRaw) };
  const format = key('log_format') ? parseChoice(key('log_format')!.value, key('log_format')!.where, ['text', 'json'] as const) : 'text';

  return {
    action: 'serve',
    argv,
    config: {
      mech: mech as Mech,
      runDir,
      socketPath: `${runDir}/mux`,
      pidFile: `${runDir}/saslauthd.pid`,
      configFile: conf ? located.path : undefined,
      foreground,
      debug,
      verbose: debug || flag('V') === true,
      combineRealm: flag('r') === true,
      cryptConcurrency,
      cryptEngine: key('crypt_engine') ? parseChoice(key('crypt_engine')!.value, key('crypt_engine')!.where, ['auto', 'libxcrypt', 'js'] as const) : 'auto',
      passwdFile: filePath('passwd_file', '/etc/passwd'),
      shadowFile: filePath('shadow_file', '/etc/shadow'),
      sasldbPath: filePath('sasldb_path', '/etc/sasldb2'),
      sasldbDefaultRealm: key('sasldb_default_realm')?.value ?? hostname().split('.')[0]!,
      checkpassword: {
        socket: key('checkpassword_socket') ? filePath('checkpassword_socket', '') : undefined,
        defaultService: (key('checkpassword_service')?.value ?? 'pop3').toLowerCase(),
        virtualUser: key('virtual_user')?.value ?? 'vpopmail',
        virtualHome: key('virtual_home')?.value,
      },
      vpopmail: mech === 'vpopmail' ? parseVpopmailConfig((k) => conf?.get(k), confDir, env) : undefined,
      relay: parseRelayConfig((k) => conf?.get(k), confDir, runDir),
      cache: { enabled: cacheEnabled, ttlMs, entries },
      log: { target, format },
      requestTimeoutMs: key('request_timeout') ? parseSeconds(key('request_timeout')!.value, key('request_timeout')!.where, 100) : 10_000,
      idleTimeoutMs: key('idle_timeout') ? parseSeconds(key('idle_timeout')!.value, key('idle_timeout')!.where, 100) : DEFAULT_IDLE_TIMEOUT_MS,
      maxConnections: key('max_connections') ? parseInteger(key('max_connections')!.value, key('max_connections')!.where, 1, 1_000_000) : DEFAULT_MAX_CONNECTIONS,
      maxConnectionsPerUser: key('max_connections_per_user')
        ? parseInteger(key('max_connections_per_user')!.value, key('max_connections_per_user')!.where, 1, 1_000_000)
        : DEFAULT_MAX_CONNECTIONS_PER_USER,
      trustedUsers: key('trusted_users') ? parseWords(key('trusted_users')!.value) : DEFAULT_TRUSTED_USERS,
      warnings,
    },
  };
}
