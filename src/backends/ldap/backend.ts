import { createHmac, randomBytes } from 'node:crypto';
import { FilterParser, type Entry } from 'ldapts';
import { ConfigError } from '../../config/errors.js';
import { TempFail } from '../../errors.js';
import type { LdapConfig, LdapTemplate } from '../../config/ldap.js';
import type { Logger } from '../../log.js';
import type { Backend, LookupRequest, PasswordRecord, Verdict, VerifyOptions } from '../types.js';
import { Directory } from './directory.js';
import { compileTemplate, expand, type Template, type TokenValues } from './template.js';
import { tlsOptions } from './tls.js';

export interface LdapBackendOptions {
  readonly config: LdapConfig;
  /** saslauthd's -n: connections for searches, and as many for users' binds. */
  readonly workers: number;
  readonly log: Logger;
}

/**
 * Operational attributes that change with every change to an entry
 * (OpenLDAP's entryCSN, to the microsecond; modifyTimestamp, to the second,
 * on most servers; Active Directory's uSNChanged): a cached success stands
 * only while they are what they were.
 */
const STAMP_ATTRIBUTES = ['entryCSN', 'modifyTimestamp', 'uSNChanged'];

/** Who the login names in the directory, found once per request. */
type Found = { readonly kind: 'none'; readonly why: string } | { readonly kind: 'entry'; readonly dn: string; readonly entry: Entry | undefined };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** LDAP strings are UTF-8 (RFC 4511): bytes that are not can name no entry, and ldapts sends text. */
function text(latin1: string): string | undefined {
  try {
    return utf8.decode(Buffer.from(latin1, 'latin1'));
  } catch {
    return undefined;
  }
}

/** An attribute's values, whatever case the server wrote its name in. */
function valuesOf(entry: Entry | undefined, name: string): Array<string | Buffer> {
  if (!entry) return [];
  const key = Object.keys(entry).find((k) => k.toLowerCase() === name.toLowerCase());
  const v = key === undefined ? undefined : entry[key];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

function compile(t: LdapTemplate, key: string, context: 'filter' | 'dn', allowDn: boolean): Template {
  const tpl = compileTemplate(t, key, { allowDn });
  if (context === 'filter') {
    const sample: TokenValues = { login: 'user@example.com', service: 'imap', realm: 'example.com', dn: 'uid=user,dc=example,dc=com' };
    try {
      FilterParser.parseString(expand(tpl, sample, 'filter'));
    } catch (err) {
      throw new ConfigError(`${t.where}: ${key} ${JSON.stringify(t.text)} is not an LDAP filter: ${(err as Error).message}`);
    }
  }
  return tpl;
}

/**
 * `-a ldap`: saslauthd's LDAP mechanism (lak.c) with its keys. `bind` and
 * `fastbind` let the directory check the password (verify); `custom` reads
 * the password attribute and leaves the comparison to the verifier, as for
 * a file (lookup). Every failure to ask the directory is a TempFail.
 */
export function createLdapBackend(o: LdapBackendOptions): Backend {
  const c = o.config;
  const filterKey = c.method === 'fastbind' ? 'ldap_filter (with fastbind, a DN)' : 'ldap_filter';
  const filter = compile(c.filter, filterKey, c.method === 'fastbind' ? 'dn' : 'filter', false);
  // Without the login in it, every login would find the same entry, and its password would open them all.
  if (!filter.namesUser) throw new ConfigError(`${c.filter.where}: ldap_filter ${JSON.stringify(c.filter.text)} does not name the user (%u or %U)`);
  const searchBase = compile(c.searchBase, 'ldap_search_base', 'dn', false);
  const group =
    c.group?.match === 'attr'
      ? { match: 'attr' as const, dn: compile(c.group.dn, 'ldap_group_dn', 'dn', true), attr: c.group.attr, text: c.group.dn.text }
      : c.group?.match === 'filter'
        ? { match: 'filter' as const, filter: compile(c.group.filter, 'ldap_group_filter', 'filter', true), base: compile(c.group.base, 'ldap_group_search_base', 'dn', true), scope: c.group.scope, text: c.group.filter.text }
        : undefined;
  const tls = tlsOptions(c.tls);
  if (!c.tls.checkPeer) o.log.warn('ldap_tls_check_peer: no: the LDAP servers\' certificates are not checked; anyone on the path can read the passwords');
  const dir = new Directory({
    config: c,
    tls,
    size: o.workers,
    onStateChange: (server, up, why) => (up ? o.log.info(`ldap: ${server.uri} ${why}`) : o.log.error(`ldap: ${server.uri} unreachable: ${why}`)),
  });
  // Keys the custom method's cache stamp, so no stored hash is kept in memory as it is.
  const stampKey = randomBytes(32);

  // One answer per request for each question, however many times generation(), verify() and lookup() ask it.
  const found = new WeakMap<LookupRequest, Promise<Found>>();
  const stamps = new WeakMap<LookupRequest, Promise<string | undefined>>();
  const memberships = new WeakMap<LookupRequest, Promise<boolean>>();
  const stampKnown = new WeakMap<LookupRequest, boolean>();

  const tokens = (req: LookupRequest): TokenValues | undefined => {
    const login = text(req.login);
    const service = text(req.service);
    const realm = text(req.realm);
    if (login === undefined || service === undefined || realm === undefined) return undefined;
    return { login, service, realm: realm === '' ? c.defaultRealm : realm };
  };

  const search = async (req: LookupRequest, opts: VerifyOptions): Promise<Found> => {
    const v = tokens(req);
    if (!v) return { kind: 'none', why: 'the login, service or realm is not UTF-8' };
    if (c.method === 'fastbind') return { kind: 'entry', dn: expand(filter, v, 'dn'), entry: undefined };
    const base = expand(searchBase, v, 'dn');
    const f = expand(filter, v, 'filter');
    const attributes = c.method === 'custom' ? [c.passwordAttr] : STAMP_ATTRIBUTES;
    // No limit of ours: with one, ldapts returns the entries a server-side limit cut short as a success, and a
    // second matching entry would go unseen. Without, sizeLimitExceeded is an error (try again), and a filter
    // that matches several entries is refused, never bound to the first.
    const entries = await dir.search({ base, scope: c.scope, filter: f, attributes, sizeLimit: 0, buffers: c.method === 'custom' ? [c.passwordAttr] : [] }, opts);
    if (entries.length === 0) return { kind: 'none', why: `no entry matches ${f} under ${JSON.stringify(base)}` };
    // Not the user's doing, and no verdict on any password: the admin has a duplicate or too wide a filter to fix.
    if (entries.length > 1) throw new TempFail(`${f} matches several entries under ${JSON.stringify(base)}; refused until only one does`);
    return { kind: 'entry', dn: entries[0]!.dn, entry: entries[0] };
  };
  const find = (req: LookupRequest, opts: VerifyOptions = {}): Promise<Found> => {
    let p = found.get(req);
    if (!p) found.set(req, (p = search(req, opts)));
    return p;
  };

  /** The entry's change stamp; fastbind, which searches for nothing, reads its entry for it. */
  const stampOf = (req: LookupRequest, f: Found & { kind: 'entry' }, opts: VerifyOptions): Promise<string | undefined> => {
    let p = stamps.get(req);
    if (!p) {
      p = (async () => {
        const entry = c.method === 'fastbind' ? (await dir.search({ base: f.dn, scope: 'base', filter: '(objectClass=*)', attributes: STAMP_ATTRIBUTES, sizeLimit: 1 }, opts))[0] : f.entry;
        const stamp = STAMP_ATTRIBUTES.flatMap((a) => valuesOf(entry, a).map(String)).join(' ');
        stampKnown.set(req, stamp !== '');
        return stamp === '' ? undefined : stamp;
      })();
      stamps.set(req, p);
    }
    return p;
  };

  const isMember = (req: LookupRequest, dn: string, opts: VerifyOptions): Promise<boolean> => {
    if (!group) return Promise.resolve(true);
    let p = memberships.get(req);
    if (!p) {
      const v = { ...tokens(req)!, dn };
      p =
        group.match === 'attr'
          ? dir.compare(expand(group.dn, v, 'dn'), group.attr, dn, opts).then((yes) => {
              if (yes === undefined) o.log.warn(`ldap: group ${expand(group.dn, v, 'dn')} does not exist; nobody is a member`);
              return yes === true;
            })
          : dir.search({ base: expand(group.base, v, 'dn'), scope: group.scope, filter: expand(group.filter, v, 'filter'), attributes: ['1.1'], sizeLimit: c.sizeLimit }, opts).then((e) => e.length > 0);
      memberships.set(req, p);
    }
    return p;
  };

  const refusedGroup = (): Verdict => ({ kind: 'fail', code: 'service_disabled', reason: `not a member of ${group!.text}` });

  const account = (req: LookupRequest, secret: string, secretIsPlaintext: boolean): PasswordRecord => {
    const at = req.login.indexOf('@');
    return {
      user: at < 0 ? req.login : req.login.slice(0, at),
      domain: at < 0 ? req.realm : req.login.slice(at + 1),
      secret,
      secretIsPlaintext,
      system: false,
      mayRelay: true,
    };
  };

  const backend: Backend = {
    mech: 'ldap',
    async lookup(req: LookupRequest): Promise<PasswordRecord | undefined> {
      const f = await find(req);
      if (f.kind !== 'entry') return undefined;
      if (c.method === 'fastbind') {
        // Does the DN the filter makes exist? (userdb lookups, the checkpassword program)
        const e = await dir.search({ base: f.dn, scope: 'base', filter: '(objectClass=*)', attributes: ['1.1'], sizeLimit: 1 }, {});
        return e.length > 0 ? account(req, '*', false) : undefined;
      }
      if (c.method === 'bind') return account(req, '*', false);
      // custom: the first value, as saslauthd checks one; without a {SCHEME} it is the password itself, as there.
      const raw = valuesOf(f.entry, c.passwordAttr)[0];
      const value = raw === undefined ? '' : Buffer.isBuffer(raw) ? raw.toString('latin1') : Buffer.from(raw, 'utf8').toString('latin1');
      const member = await isMember(req, f.dn, {});
      const hashed = value === '' || /^\{[A-Za-z0-9.-]+\}/.test(value);
      return { ...account(req, value === '' ? '!' : value, !hashed), policy: () => (member ? undefined : 'service_disabled') };
    },
    async generation(req: LookupRequest, opts: VerifyOptions = {}): Promise<string | undefined> {
      const f = await find(req, opts);
      if (f.kind !== 'entry') return f.kind;
      if (c.method === 'custom') {
        // The password itself is read on every request: the stored value stamps the entry.
        const value = valuesOf(f.entry, c.passwordAttr).map((x) => (Buffer.isBuffer(x) ? x : Buffer.from(x, 'utf8')));
        const mac = createHmac('sha256', stampKey);
        for (const x of value) mac.update(x).update('\0');
        return `${f.dn}\0${await isMember(req, f.dn, opts)}\0${mac.digest('base64')}`;
      }
      return `${f.dn}\0${(await stampOf(req, f, opts)) ?? ''}\0${await isMember(req, f.dn, opts)}`;
    },
    cacheLifetimeMs(req: LookupRequest): number | undefined {
      // Asked after generation() for the same request: no stamp seen, no change seen either, so only the clock limits it.
      return stampKnown.get(req) === true ? undefined : c.cacheTtlMs;
    },
    cacheAnswersAloneMs(): number {
      return c.cacheTtlMs;
    },
    check(): string {
      const where = c.servers.map((s) => s.uri).join(' ');
      const how = c.method === 'fastbind' ? `fastbind to ${c.filter.text}` : `${c.method}, ${c.filter.text} under ${JSON.stringify(c.searchBase.text)} (${c.scope})`;
      return `ldap: ${where}${c.startTls ? ' with StartTLS' : ''}, ${how}${c.bind ? `, searching as ${c.bind.dn}` : ''}${group ? `, group ${group.text}` : ''}`;
    },
    close(): void {
      dir.close();
    },
  };
  if (c.method === 'custom') return backend;
  return {
    ...backend,
    async verify(req: LookupRequest, password: Buffer, opts: VerifyOptions): Promise<Verdict> {
      // RFC 4513 5.1.2: a simple bind with a DN and no password is "unauthenticated" and succeeds on servers that allow it.
      if (password.length === 0) return { kind: 'fail', code: 'bad_password', reason: 'empty password' };
      const pw = text(password.toString('latin1'));
      if (pw === undefined) return { kind: 'fail', code: 'bad_password', reason: 'the password is not UTF-8, which an LDAP bind sends' };
      const f = await find(req, opts);
      if (f.kind === 'none') return { kind: 'fail', code: 'no_such_user', reason: f.why };
      const bound = await dir.bindAs(f.dn, pw, opts);
      if (!bound.ok) return { kind: 'fail', code: 'bad_password', reason: `bind as ${f.dn} refused: ${bound.why}` };
      if (!(await isMember(req, f.dn, opts))) return refusedGroup();
      return { kind: 'ok' };
    },
  };
}
