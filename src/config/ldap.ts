import { ConfigError } from './errors.js';
import type { KeysRead } from './keys.js';
import type { LdapServer } from './ldap-servers.js';

export type { LdapServer } from './ldap-servers.js';

/** A value with tokens (%u, %d, ...) and where it was set, for the error when it does not parse. */
export interface LdapTemplate {
  readonly text: string;
  readonly where: string;
}

export type LdapScope = 'sub' | 'one' | 'base';

export type LdapGroupCheck =
  | { readonly match: 'attr'; readonly dn: LdapTemplate; readonly attr: string }
  | { readonly match: 'filter'; readonly filter: LdapTemplate; readonly base: LdapTemplate; readonly scope: LdapScope };

export interface LdapTls {
  readonly checkPeer: boolean;
  readonly caFile: string | undefined;
  readonly caDir: string | undefined;
  readonly certFile: string | undefined;
  readonly keyFile: string | undefined;
  readonly ciphers: string | undefined;
}

export interface LdapConfig {
  readonly servers: readonly LdapServer[];
  readonly method: 'bind' | 'custom' | 'fastbind';
  readonly searchBase: LdapTemplate;
  /** With fastbind, the user's DN. */
  readonly filter: LdapTemplate;
  readonly scope: LdapScope;
  /** Searches bind as this; undefined: anonymously. */
  readonly bind: { readonly dn: string; readonly password: string } | undefined;
  readonly defaultRealm: string;
  readonly passwordAttr: string;
  readonly timeoutMs: number;
  readonly timeLimitS: number;
  readonly sizeLimit: number;
  readonly deref: 'never' | 'search' | 'find' | 'always';
  readonly referrals: boolean;
  readonly startTls: boolean;
  readonly tls: LdapTls;
  readonly group: LdapGroupCheck | undefined;
  readonly cacheTtlMs: number;
}

/** Two names for one setting (saslauthd's aliases): at most one may be set, so no line silently loses. */
function oneOf<T>(k: KeysRead, a: Parameters<KeysRead['whereOf']>[0], b: Parameters<KeysRead['whereOf']>[0], va: T, vb: T): T {
  if (k.isSet(a) && k.isSet(b)) throw new ConfigError(`${k.whereOf(b)}: ${b} and ${a} (${k.whereOf(a)}) are the same setting; keep one`);
  return k.isSet(b) ? vb : va;
}

/** The ldap_* keys' values, checked together; built only when ldap is a mechanism. */
export function buildLdapConfig(k: KeysRead): LdapConfig {
  const v = k.values;
  const t = (key: 'ldap_search_base' | 'ldap_filter' | 'ldap_group_dn' | 'ldap_group_filter' | 'ldap_group_search_base', text: string): LdapTemplate => ({ text, where: k.whereOf(key) });
  const password = oneOf(k, 'ldap_password', 'ldap_bind_pw', v.ldap_password, v.ldap_bind_pw);
  const defaultRealm = oneOf(k, 'ldap_default_realm', 'ldap_default_domain', v.ldap_default_realm, v.ldap_default_domain ?? '');
  let bind: LdapConfig['bind'];
  if (v.ldap_bind_dn !== undefined) {
    // A DN with an empty password is an unauthenticated bind (RFC 4513 5.1.2): some servers let it "succeed" as anonymous.
    if (password === undefined) throw new ConfigError(`${k.whereOf('ldap_bind_dn')}: ldap_bind_dn needs ldap_password; without one the bind would be unauthenticated`);
    bind = { dn: v.ldap_bind_dn, password };
  } else if (password !== undefined) {
    throw new ConfigError(`${k.whereOf(k.isSet('ldap_bind_pw') ? 'ldap_bind_pw' : 'ldap_password')}: a password without ldap_bind_dn; searches would bind anonymously`);
  }
  if (v.ldap_start_tls) {
    const ldaps = v.ldap_servers.find((s) => s.scheme === 'ldaps');
    if (ldaps) throw new ConfigError(`${k.whereOf('ldap_start_tls')}: ldap_start_tls with ${ldaps.uri}, which is TLS already; use ldap:// URIs with StartTLS`);
  }
  return {
    servers: v.ldap_servers,
    method: v.ldap_auth_method,
    searchBase: t('ldap_search_base', v.ldap_search_base),
    filter: t('ldap_filter', v.ldap_filter),
    scope: v.ldap_scope,
    bind,
    defaultRealm,
    passwordAttr: v.ldap_password_attr,
    timeoutMs: v.ldap_timeout,
    timeLimitS: v.ldap_time_limit,
    sizeLimit: v.ldap_size_limit,
    deref: v.ldap_deref,
    referrals: v.ldap_referrals,
    startTls: v.ldap_start_tls,
    tls: {
      checkPeer: v.ldap_tls_check_peer,
      caFile: v.ldap_tls_cacert_file,
      caDir: v.ldap_tls_cacert_dir,
      certFile: v.ldap_tls_cert,
      keyFile: v.ldap_tls_key,
      ciphers: v.ldap_tls_ciphers,
    },
    group: groupCheck(k),
    cacheTtlMs: v.ldap_cache_ttl,
  };
}

/**
 * saslauthd checks groups when ldap_group_dn or ldap_group_filter is set,
 * with the match method deciding which of them counts. A key that the method
 * would not read is refused here rather than left to do nothing.
 */
function groupCheck(k: KeysRead): LdapGroupCheck | undefined {
  const v = k.values;
  const t = (key: 'ldap_group_dn' | 'ldap_group_filter' | 'ldap_group_search_base', text: string): LdapTemplate => ({ text, where: k.whereOf(key) });
  if (v.ldap_group_dn === undefined && v.ldap_group_filter === undefined) {
    const stray = (['ldap_group_attr', 'ldap_group_match_method', 'ldap_group_search_base', 'ldap_group_scope'] as const).find((key) => k.isSet(key));
    if (stray) throw new ConfigError(`${k.whereOf(stray)}: ${stray} without ldap_group_dn or ldap_group_filter checks nothing`);
    return undefined;
  }
  if (v.ldap_group_match_method === 'attr') {
    if (v.ldap_group_dn === undefined) throw new ConfigError(`${k.whereOf('ldap_group_filter')}: ldap_group_filter is read only with ldap_group_match_method: filter; with attr, set ldap_group_dn`);
    if (v.ldap_group_filter !== undefined) throw new ConfigError(`${k.whereOf('ldap_group_filter')}: ldap_group_filter is read only with ldap_group_match_method: filter`);
    return { match: 'attr', dn: t('ldap_group_dn', v.ldap_group_dn), attr: v.ldap_group_attr };
  }
  if (v.ldap_group_filter === undefined) throw new ConfigError(`${k.whereOf('ldap_group_match_method')}: ldap_group_match_method: filter needs ldap_group_filter`);
  if (k.isSet('ldap_group_attr')) throw new ConfigError(`${k.whereOf('ldap_group_attr')}: ldap_group_attr is read only with ldap_group_match_method: attr`);
  const base = v.ldap_group_search_base !== undefined ? t('ldap_group_search_base', v.ldap_group_search_base) : { text: v.ldap_search_base, where: k.whereOf('ldap_search_base') };
  return { match: 'filter', filter: t('ldap_group_filter', v.ldap_group_filter), base, scope: v.ldap_group_scope };
}
