import { hostname } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { AddressSet } from '../net/address.js';
import { ConfigError } from './errors.js';
import { parseRedisTarget } from './redis-target.js';
import { parseRimapServer, type RimapServer } from './rimap.js';
import { parseMetricsListen, type MetricsListen } from './metrics-listen.js';
import { parseLdapServers } from './ldap-servers.js';
import { parseSqlUrl } from './sql-connection.js';
import { DEFAULT_SERVICE_FLAGS, parseServiceFlags } from './vpopmail-flags.js';
import { SASL_MECHANISMS, type SaslMechanism } from '../protocol/sasl-mechanisms.js';
import { parseBool, parseChoice, parseInteger, parseMode, parseSeconds, parseWords } from './values.js';

/** What a key's parser and default may depend on besides the value itself. */
export interface KeyContext {
  /** The configuration file's directory: relative paths are taken from it. */
  readonly confDir: string;
  /** -m: where files default to (relay_file). */
  readonly runDir: string;
  /** -d/-f: a daemon in the foreground logs to stderr unless told otherwise. */
  readonly foreground: boolean;
  readonly env: NodeJS.ProcessEnv;
}

interface KeyDef<T> {
  /** One line for the documentation. */
  readonly doc: string;
  /** Turns the file's text into the value; `where` is `file:line`, for the error. */
  readonly parse: (value: string, where: string, ctx: KeyContext) => T;
  readonly dflt: (ctx: KeyContext) => T;
}

function key<T>(doc: string, parse: KeyDef<T>['parse'], dflt: KeyDef<T>['dflt']): KeyDef<T> {
  return { doc, parse, dflt };
}

const path = (v: string, _w: string, c: KeyContext) => (isAbsolute(v) ? v : resolve(c.confDir, v));
const text = (v: string) => v;
const none = () => undefined;
const yesNo = (v: string, w: string) => parseBool(v, w);
const seconds = (minMs: number) => (v: string, w: string) => parseSeconds(v, w, minMs);
const count = (min: number, max: number) => (v: string, w: string) => parseInteger(v, w, min, max);
const choice = <T extends string>(choices: readonly T[]) => (v: string, w: string) => parseChoice(v, w, choices);

/** saslauthd sizes its cache in kilobytes of shared memory; about this many bytes an entry. */
export const BYTES_PER_CACHE_ENTRY = 100;

/**
 * Every key of the configuration file: its parser, its default and one line
 * of documentation. The typed Config is built from these values alone, and
 * saslauthd.conf.example lists exactly these keys (a test holds the two together).
 */
export const KEYS = {
  mech: key('password sources, as -a: shadow, getpwent, sasldb, vpopmail, pam, ldap, rimap; several (shadow sasldb) are asked in that order, the next only when the user is unknown to the ones before', (v) => v.toLowerCase(), none as () => string | undefined),
  passwd_file: key('the passwd file shadow and getpwent read', path, () => '/etc/passwd'),
  shadow_file: key('the shadow file shadow reads', path, () => '/etc/shadow'),
  sasldb_path: key('the sasldb (Berkeley DB or text)', path, () => '/etc/sasldb2'),
  sasldb_default_realm: key('the realm an empty request realm stands for', text, () => hostname().split('.')[0]!),
  pam_timeout: key('seconds a PAM transaction may take before it is a temporary failure (its worker is killed)', seconds(100), () => 30_000),
  pam_cache_ttl: key('seconds a cached PAM success may answer when the stack has modules other than pam_unix and friends', seconds(1000), () => 60_000),
  rimap_server: key('the IMAP server rimap asks, host[/port] (as saslauthd\'s -O, which wins); port 143, or 993 with imaps', (v, w) => parseRimapServer(v, w), none as () => RimapServer | undefined),
  rimap_tls: key('none (as saslauthd), starttls or imaps; with TLS the server\'s certificate and name are checked', choice(['none', 'starttls', 'imaps'] as const), () => 'none' as const),
  rimap_tls_cacert_file: key('PEM file of the CAs the IMAP server\'s certificate must chain to (default: the system\'s store)', path, none as () => string | undefined),
  rimap_timeout: key('seconds one IMAP check may take in all (lookup, connect, TLS, LOGIN); then a temporary failure', seconds(100), () => 30_000),
  rimap_cache_ttl: key('seconds a cached rimap success may answer (the server gives no change signal)', seconds(1000), () => 60_000),
  cache: key('yes: cache successful logins (as -c)', yesNo, () => false),
  cache_ttl: key('seconds a cache entry lives (as -t)', seconds(1000), () => 28_800_000),
  cache_size: key('cache entries (-s gives kilobytes instead)', count(1, 100_000_000), () => 10_000),
  log_target: key('stderr, syslog or a file path', (v, w, c) => (v === 'stderr' || v === 'syslog' ? v : path(v, w, c)), (c) => (c.foreground ? 'stderr' : 'syslog')),
  log_format: key('text (saslauthd\'s lines) or json', choice(['text', 'json'] as const), () => 'text' as const),
  syslog_path: key('the syslog socket', path, () => '/dev/log'),
  penalty: key('yes: failures from one client address delay its next requests (2 s, doubling)', yesNo, () => true),
  penalty_max: key('seconds the per-address penalty grows to at most', seconds(0), () => 15_000),
  penalty_trusted: key('addresses and CIDR blocks never penalised', (v, w) => addressSet(v, w), () => addressSet('127.0.0.0/8 ::1', 'penalty_trusted')),
  penalty_store: key('local, or redis: failure counts shared by every daemon on relay_redis (local counts still decide when Redis is away)', choice(['local', 'redis'] as const), () => 'local' as const),
  penalty_redis_prefix: key('key prefix of the shared failure counts in Redis', text, () => 'authmux:penalty:'),
  auth_failure_delay: key('seconds every failed login\'s reply waits (0, as saslauthd)', seconds(0), () => 0),
  request_timeout: key('seconds a client has to send its whole request', seconds(100), () => 10_000),
  idle_timeout: key('seconds a many-request connection (socketmap, Dovecot) may sit idle', seconds(100), () => 60_000),
  max_connections: key('connections served at once, all users together', count(1, 1_000_000), () => 4096),
  max_connections_per_user: key('connections one user outside trusted_users may hold', count(1, 1_000_000), () => 32),
  trusted_users: key('accounts never limited per user (the MTA\'s, root)', (v) => parseWords(v), () => ['root', 'postfix', 'Debian-exim', 'exim', 'mail', 'dovecot', 'cyrus', 'smmsp']),
  serve_processes: key('processes accepting on the saslauthd socket, each with its own cache; 0 = one per CPU. The other sockets are served by the first', count(0, 64), () => 1),
  crypt_engine: key('auto, libxcrypt or js', choice(['auto', 'libxcrypt', 'js'] as const), () => 'auto' as const),
  vpopmail_sql: key('vpopmail\'s database as a mysql:// or postgres:// URL', (v, w) => parseSqlUrl(v, w), none),
  vpopmail_config_file: key('vpopmail\'s vpopmail.mysql or vpopmail.pgsql', path, none as () => string | undefined),
  vpopmail_driver: key('mysql or pgsql, when the file name does not say', choice(['mysql', 'pgsql'] as const), none as () => 'mysql' | 'pgsql' | undefined),
  vpopmail_layout: key('many-domains or per-domain', choice(['many-domains', 'per-domain'] as const), () => 'many-domains' as const),
  vpopmail_default_domain: key('the domain of a login that names none', (v) => v.toLowerCase(), (c) => (c.env['VPOPMAIL_DOMAIN'] ?? '').toLowerCase()),
  vpopmail_clear_passwords: key('yes: an empty pw_passwd is checked against pw_clear_passwd', yesNo, () => false),
  vpopmail_lastauth: key('yes: successful logins update lastauth', yesNo, () => false),
  vpopmail_service_flags: key('which pw_gid flag refuses which service', (v, w) => parseServiceFlags(v, w), () => parseServiceFlags(DEFAULT_SERVICE_FLAGS, 'default vpopmail_service_flags')),
  vpopmail_query_timeout: key('seconds a lookup may take', seconds(100), () => 5000),
  vpopmail_pool_size: key('database connections kept for lookups', count(1, 256), () => 8),
  ldap_servers: key('LDAP servers, tried in order: ldap://host[:port]/, ldaps://..., ldapi://%2Fpath%2Fto%2Fsocket', (v, w) => parseLdapServers(v, w), () => parseLdapServers('ldap://localhost/', 'default ldap_servers')),
  ldap_search_base: key('where the user search starts (tokens as in ldap_filter)', text, () => ''),
  ldap_filter: key('the user search filter (%u login, %U its local part, %d its domain, %1-%9 domain labels, %s service, %r realm); with fastbind, the user\'s DN', text, () => '(uid=%u)'),
  ldap_scope: key('sub, one or base', choice(['sub', 'one', 'base'] as const), () => 'sub' as const),
  ldap_auth_method: key('bind (search, then bind as the user), custom (compare ldap_password_attr here) or fastbind (bind to the DN ldap_filter makes)', choice(['bind', 'custom', 'fastbind'] as const), () => 'bind' as const),
  ldap_bind_dn: key('the DN searches bind as; unset: anonymous', text, none as () => string | undefined),
  ldap_password: key('ldap_bind_dn\'s password', text, none as () => string | undefined),
  ldap_bind_pw: key('another name for ldap_password', text, none as () => string | undefined),
  ldap_default_realm: key('the realm (%r, and %d and %1-%9 without a domain in the login) when the request has none', text, () => ''),
  ldap_default_domain: key('another name for ldap_default_realm', text, none as () => string | undefined),
  ldap_password_attr: key('the attribute custom compares against', attributeName, () => 'userPassword'),
  ldap_timeout: key('seconds to connect, and for each operation, before a temporary failure', seconds(100), () => 5000),
  ldap_time_limit: key('seconds the server may spend on a search (0: its own limit)', count(0, 86400), () => 5),
  ldap_size_limit: key('entries a group search may return (0: the server\'s limit); a user search asks for two, to refuse a filter that matches several', count(0, 1_000_000), () => 1),
  ldap_deref: key('alias dereferencing: never, search, find or always', choice(['never', 'search', 'find', 'always'] as const), () => 'never' as const),
  ldap_referrals: key('yes: follow the search references a server returns (anonymously)', yesNo, () => false),
  ldap_version: key('3; protocol version 2 is refused', (v, w) => ldapVersion(v, w), () => 3 as const),
  ldap_start_tls: key('yes: StartTLS on ldap:// and ldapi:// servers before anything else', yesNo, () => false),
  ldap_tls_check_peer: key('no: accept any server certificate (logged at start)', yesNo, () => true),
  ldap_tls_cacert_file: key('CA certificates (PEM) server certificates are checked against; unset: the system\'s', path, none as () => string | undefined),
  ldap_tls_cacert_dir: key('a directory of CA certificates (PEM), as c_rehash makes', path, none as () => string | undefined),
  ldap_tls_cert: key('client certificate (PEM)', path, none as () => string | undefined),
  ldap_tls_key: key('client certificate\'s key (PEM)', path, none as () => string | undefined),
  ldap_tls_ciphers: key('TLS ciphers, in OpenSSL\'s syntax', text, none as () => string | undefined),
  ldap_group_dn: key('a group the user must be in (tokens as in ldap_filter)', text, none as () => string | undefined),
  ldap_group_attr: key('the attribute of ldap_group_dn that lists members\' DNs', attributeName, () => 'uniqueMember'),
  ldap_group_filter: key('with ldap_group_match_method filter: a search that finds a group the user is in (%D the user\'s DN)', text, none as () => string | undefined),
  ldap_group_match_method: key('attr (compare ldap_group_attr) or filter (search ldap_group_filter)', choice(['attr', 'filter'] as const), () => 'attr' as const),
  ldap_group_search_base: key('where ldap_group_filter searches; unset: ldap_search_base', text, none as () => string | undefined),
  ldap_group_scope: key('sub, one or base', choice(['sub', 'one', 'base'] as const), () => 'sub' as const),
  ldap_cache_ttl: key('seconds a cached LDAP success answers without asking the directory (0: never; after it, only while the entry\'s change stamp is unchanged)', seconds(0), () => 0),
  checkpassword_socket: key('where the daemon answers the checkpassword program', path, none as () => string | undefined),
  checkpassword_service: key('service when neither SERVICE nor TCPLOCALPORT names one', (v) => v.toLowerCase(), () => 'pop3'),
  dovecot_socket: key('where the daemon answers Dovecot\'s auth-client protocol (Postfix smtpd_sasl_type = dovecot)', path, none as () => string | undefined),
  dovecot_userdb_socket: key('where the daemon answers Dovecot userdb USER lookups (does this account exist); same owner and mode as dovecot_socket', path, none as () => string | undefined),
  dovecot_socket_mode: key('the Dovecot socket\'s mode, octal', (v, w) => parseMode(v, w), () => 0o660),
  dovecot_socket_user: key('owner of the Dovecot socket (name or uid)', text, none as () => string | undefined),
  dovecot_socket_group: key('group of the Dovecot socket (name or gid), e.g. postfix', text, none as () => string | undefined),
  dovecot_mechanisms: key('mechanisms offered on the Dovecot socket: PLAIN, LOGIN', (v, w) => mechanisms(v, w), () => [...SASL_MECHANISMS] as readonly SaslMechanism[]),
  virtual_user: key('the passwd account virtual logins run as', text, () => 'vpopmail'),
  virtual_home: key('a sasldb login\'s home: %u user, %d realm', text, none as () => string | undefined),
  relay_store: key('file, redis, vpopmail or none', choice(['file', 'redis', 'vpopmail', 'none'] as const), () => 'file' as const),
  relay_ttl: key('seconds a grant lasts', count(1, 366 * 86400), () => 1800),
  relay_ignore: key('addresses and CIDR blocks that never get a grant', (v, w) => addressSet(v, w), () => addressSet('127.0.0.0/8 ::1', 'relay_ignore')),
  relay_services: key('services whose logins open relay', (v) => new Set(parseWords(v.toLowerCase())) as ReadonlySet<string>, () => new Set(['pop3', 'pop', 'pop3s', 'imap', 'imaps']) as ReadonlySet<string>),
  relay_file: key('the file store', path, (c) => `${c.runDir}/relayers`),
  relay_redis: key('the Redis store: redis:// or redis-cluster://h1:p1,h2:p2', (v, w) => parseRedisTarget(v, w), () => parseRedisTarget('redis://127.0.0.1:6379/0', 'relay_redis')),
  relay_redis_prefix: key('key prefix in Redis', text, () => 'authmux:relay:'),
  relay_datagram: key('a Unix datagram socket told of every change', path, none as () => string | undefined),
  relay_socketmap: key('the socketmap socket for Postfix and Sendmail', path, none as () => string | undefined),
  relay_text_map: key('an `IP timestamp` map for makemap or postmap', path, none as () => string | undefined),
  relay_rebuild_command: key('run (sh -c) after the text map changes', text, none as () => string | undefined),
  relay_cdb: key('qmail\'s tcp.smtp.cdb', path, none as () => string | undefined),
  relay_cdb_rules: key('the site\'s tcprules file, compiled after the grants', path, none as () => string | undefined),
  metrics_listen: key('where the metrics are served over HTTP: host:port or an absolute Unix socket path', (v, w) => parseMetricsListen(v, w), none as () => MetricsListen | undefined),
  relay_expire_interval: key('seconds between expiry runs', seconds(1000), () => 60_000),
} as const;

export type KeyName = keyof typeof KEYS;
export type KeyValues = { readonly [K in KeyName]: ReturnType<(typeof KEYS)[K]['dflt']> };

/** An attribute description: a name or an OID, no options (saslauthd takes the text as it is). */
function attributeName(value: string, where: string): string {
  if (!/^(?:[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)+)$/.test(value)) throw new ConfigError(`${where}: ${JSON.stringify(value)} is not an attribute name`);
  return value;
}

function ldapVersion(value: string, where: string): 3 {
  if (value === '2') throw new ConfigError(`${where}: LDAP version 2 is not supported (it has no StartTLS and no referrals in results; every current server speaks version 3): remove the line or write ldap_version: 3`);
  if (value !== '3') throw new ConfigError(`${where}: ldap_version must be 3, got ${JSON.stringify(value)}`);
  return 3;
}

function mechanisms(value: string, where: string): readonly SaslMechanism[] {
  const names = parseWords(value.toUpperCase());
  if (names.length === 0) throw new ConfigError(`${where}: name at least one of ${SASL_MECHANISMS.join(', ')}`);
  return [...new Set(names.map((n) => parseChoice(n, where, SASL_MECHANISMS.map((m) => m.toLowerCase())).toUpperCase() as SaslMechanism))];
}

function addressSet(value: string, where: string): AddressSet {
  try {
    return new AddressSet(parseWords(value));
  } catch (err) {
    throw new ConfigError(`${where}: ${(err as Error).message}`);
  }
}

/** One line of the file: the value and where it stands. */
export interface Setting {
  readonly value: string;
  readonly where: string;
}

/**
 * saslauthd's LDAP keys that Authmux does not implement, and why. Each is
 * refused when ldap is a mechanism (never silently ignored), except at the
 * value that asks for nothing (`harmless`); with other mechanisms, a shared
 * /etc/saslauthd.conf still loads and the key is warned about.
 */
const SASL_BIND = 'SASL binds to the directory are not supported; bind with ldap_bind_dn and ldap_password (simple bind, over TLS)';
export const UNSUPPORTED_LDAP_KEYS: ReadonlyMap<string, { readonly why: string; readonly harmless?: (value: string) => boolean }> = new Map([
  ['ldap_use_sasl', { why: SASL_BIND, harmless: isOff }],
  ['ldap_id', { why: SASL_BIND }],
  ['ldap_sasl_authc_id', { why: SASL_BIND }],
  ['ldap_authz_id', { why: SASL_BIND }],
  ['ldap_sasl_authz_id', { why: SASL_BIND }],
  ['ldap_mech', { why: SASL_BIND }],
  ['ldap_sasl_mech', { why: SASL_BIND }],
  ['ldap_realm', { why: SASL_BIND }],
  ['ldap_sasl_realm', { why: SASL_BIND }],
  ['ldap_sasl_secprops', { why: SASL_BIND }],
  ['ldap_restart', { why: 'operations interrupted by a signal are always resumed here; only yes can be honoured', harmless: (v) => !isOff(v) }],
  ['ldap_debug', { why: 'libldap\'s debug output does not exist here; run with -d for Authmux\'s', harmless: (v) => /^0+$/.test(v) }],
]);

function isOff(value: string): boolean {
  return ['no', 'false', 'off', '0'].includes(value.toLowerCase());
}

export interface KeysRead {
  readonly values: KeyValues;
  /** `file:line` of a key, or its name when it was not set. */
  readonly whereOf: (k: KeyName) => string;
  /** Whether the file sets the key, default or not. */
  readonly isSet: (k: KeyName) => boolean;
  readonly unsupported: readonly UnsupportedSetting[];
}

/** A saslauthd key set in the file that Authmux does not implement. */
export interface UnsupportedSetting {
  readonly name: string;
  readonly where: string;
  readonly why: string;
}

/** Edit distance, for suggesting the key that was meant. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

export function closestKey(name: string): KeyName {
  let best: KeyName = 'mech';
  let bestD = Infinity;
  for (const k of Object.keys(KEYS) as KeyName[]) {
    const d = distance(name, k);
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best;
}

/**
 * Every key's value: parsed from the file where it is set, its default
 * otherwise. An unknown key is an error naming its line and the key most
 * like it; saslauthd's LDAP keys that Authmux does not implement come back
 * in `unsupported`, for the caller to refuse or warn about.
 */
export function readKeys(settings: ReadonlyMap<string, Setting>, ctx: KeyContext): KeysRead {
  const unsupported: UnsupportedSetting[] = [];
  for (const [name, { where, value }] of settings) {
    if (name in KEYS) continue;
    const known = UNSUPPORTED_LDAP_KEYS.get(name);
    if (!known) throw new ConfigError(`${where}: unknown key ${name}; did you mean ${closestKey(name)}?`);
    if (!known.harmless?.(value)) unsupported.push({ name, where, why: known.why });
  }
  const values: Record<string, unknown> = {};
  for (const [name, def] of Object.entries(KEYS) as Array<[KeyName, KeyDef<unknown>]>) {
    const s = settings.get(name);
    values[name] = s ? def.parse(s.value, s.where, ctx) : def.dflt(ctx);
  }
  return { values: values as KeyValues, whereOf: (k) => settings.get(k)?.where ?? k, isSet: (k) => settings.has(k), unsupported };
}
