import type { ConnectionOptions } from 'node:tls';
import type { Entry } from 'ldapts';
import { TempFail } from '../../errors.js';
import type { LdapConfig, LdapScope, LdapServer } from '../../config/ldap.js';
import { parseLdapServers } from '../../config/ldap-servers.js';
import { classify, openLink, type Link, type LinkSettings } from './connection.js';
import { LinkPool, ServerSet, type UseOptions } from './pool.js';

export interface DirectoryOptions {
  readonly config: LdapConfig;
  readonly tls: ConnectionOptions;
  /** Connections for searches, and as many for users' binds: saslauthd's -n. */
  readonly size: number;
  readonly onStateChange: (server: LdapServer, up: boolean, why: string) => void;
}

export interface SearchRequest {
  readonly base: string;
  readonly scope: LdapScope;
  readonly filter: string;
  readonly attributes: readonly string[];
  readonly sizeLimit: number;
  /** Attributes whose values come back as bytes (passwords). */
  readonly buffers?: readonly string[];
}

/** What a user's bind said: yes, or no with the server's words. Anything else is a TempFail. */
export type BindOutcome = { readonly ok: true } | { readonly ok: false; readonly why: string };

const RETRY_AFTER_MS = 1000;
/** libldap's default LDAP_OPT_REFHOPLIMIT. */
const MAX_REFERRAL_HOPS = 5;

/**
 * Result codes of a simple bind that mean "not with this password": wrong
 * password (49), no password to check (48), the account locked or refused
 * by policy (50, 53, 19 in some servers), a DN that cannot be (34, 32).
 */
const BIND_REFUSALS = new Set([19, 32, 34, 48, 49, 50, 53]);

const SCOPES: Record<LdapScope, 'sub' | 'one' | 'base'> = { sub: 'sub', one: 'one', base: 'base' };

/**
 * The directory as the backend sees it, and the one place where what
 * ldapts and the servers say becomes an answer or a TempFail. Searches and
 * group checks run on pooled connections bound as ldap_bind_dn (or
 * anonymous); a user's bind runs on a connection of another pool that is
 * used for nothing but users' binds, and every check sends its bind: a
 * connection's earlier success never answers for a later request
 * (cyrus-sasl #550).
 */
export class Directory {
  private readonly servers: ServerSet;
  private readonly searchers: LinkPool;
  private readonly binders: LinkPool;
  private readonly link: LinkSettings;

  constructor(private readonly o: DirectoryOptions) {
    const c = o.config;
    this.link = { tls: o.tls, startTls: c.startTls, timeoutMs: c.timeoutMs };
    this.servers = new ServerSet({ servers: c.servers, link: this.link, retryAfterMs: RETRY_AFTER_MS, onStateChange: o.onStateChange });
    const serviceBind = async (link: Link) => {
      if (!c.bind) return;
      try {
        await link.client.bind(c.bind.dn, c.bind.password);
      } catch (err) {
        const f = classify(err);
        if (f.kind === 'result') throw new TempFail(`${link.server.uri}: the directory refused ldap_bind_dn ${c.bind.dn}: ${f.message}`);
        throw err;
      }
    };
    this.searchers = new LinkPool({ servers: this.servers, size: o.size, prepare: serviceBind });
    this.binders = new LinkPool({ servers: this.servers, size: o.size, prepare: async () => undefined });
  }

  /** The entries a search finds, search references followed when ldap_referrals says so. */
  async search(req: SearchRequest, opts: UseOptions): Promise<Entry[]> {
    const found = await this.run(this.searchers, (link) => searchOn(link, req, this.o.config), opts, 'search');
    if (found.references.length === 0 || !this.o.config.referrals) return found.entries;
    const visited = new Set<string>();
    return [...found.entries, ...(await this.follow(found.references, req, visited, 1))];
  }

  /**
   * Whether `dn` has `value` among its `attribute` values; undefined when
   * there is no such entry (a group that does not exist has no members).
   */
  async compare(dn: string, attribute: string, value: string, opts: UseOptions): Promise<boolean | undefined> {
    return this.run(
      this.searchers,
      async (link) => {
        try {
          return await link.client.compare(dn, attribute, value);
        } catch (err) {
          const f = classify(err);
          // noSuchObject, noSuchAttribute, undefinedAttributeType: nothing there to match.
          if (f.kind === 'result' && [16, 17, 32].includes(f.code)) return f.code === 32 ? undefined : false;
          throw err;
        }
      },
      opts,
      'compare',
    );
  }

  /** A simple bind as the user, on a connection used for users' binds only. */
  async bindAs(dn: string, password: string, opts: UseOptions): Promise<BindOutcome> {
    return this.run(
      this.binders,
      async (link): Promise<BindOutcome> => {
        try {
          await link.client.bind(dn, password);
          return { ok: true };
        } catch (err) {
          const f = classify(err);
          if (f.kind === 'result' && BIND_REFUSALS.has(f.code)) return { ok: false, why: f.message };
          throw err;
        }
      },
      opts,
      'bind',
    );
  }

  private async run<T>(pool: LinkPool, op: (link: Link) => Promise<T>, opts: UseOptions, what: string): Promise<T> {
    try {
      return await pool.use(op, opts);
    } catch (err) {
      throw asTempFail(err, what);
    }
  }

  /**
   * Search references, each on a connection of its own to the server it
   * names (anonymous, as libldap follows them), up to libldap's hop limit;
   * a reference back to where the search has been is a loop.
   */
  private async follow(refs: readonly string[], req: SearchRequest, visited: Set<string>, hop: number): Promise<Entry[]> {
    if (hop > MAX_REFERRAL_HOPS) throw new TempFail(`LDAP referrals: more than ${MAX_REFERRAL_HOPS} hops`);
    const out: Entry[] = [];
    for (const ref of refs) {
      const target = parseReference(ref);
      if (!target) throw new TempFail(`LDAP referral ${JSON.stringify(ref)} cannot be followed`);
      const key = `${target.server.uri}|${target.base.toLowerCase()}`;
      if (visited.has(key)) throw new TempFail(`LDAP referral loop at ${ref}`);
      visited.add(key);
      let link: Link | undefined;
      let found: Found;
      try {
        link = await openLink(target.server, this.link);
        // RFC 4511 4.5.3: a reference met in a one-level search names that one entry.
        found = await searchOn(link, { ...req, base: target.base || req.base, scope: req.scope === 'one' ? 'base' : req.scope }, this.o.config);
      } catch (err) {
        throw asTempFail(err, `referral to ${ref}`);
      } finally {
        link?.close();
      }
      out.push(...found.entries);
      if (found.references.length > 0) out.push(...(await this.follow(found.references, req, visited, hop + 1)));
    }
    return out;
  }

  close(): void {
    this.searchers.close();
    this.binders.close();
  }
}

interface Found {
  readonly entries: Entry[];
  readonly references: string[];
}

async function searchOn(link: Link, req: SearchRequest, c: LdapConfig): Promise<Found> {
  try {
    const r = await link.client.search(req.base, {
      scope: SCOPES[req.scope],
      filter: req.filter,
      attributes: [...req.attributes],
      explicitBufferAttributes: req.buffers ? [...req.buffers] : [],
      sizeLimit: req.sizeLimit,
      timeLimit: c.timeLimitS,
      derefAliases: c.deref,
    });
    return { entries: r.searchEntries, references: r.searchReferences };
  } catch (err) {
    const f = classify(err);
    // The base does not exist, or cannot (a token left an RDN empty): nothing under it matches.
    if (f.kind === 'result' && (f.code === 32 || f.code === 34)) return { entries: [], references: [] };
    throw err;
  }
}

/** ldap://host:port/dn?... as a search reference gives it. */
function parseReference(ref: string): { server: LdapServer; base: string } | undefined {
  const m = /^(ldaps?:\/\/[^/?]*)\/?([^?]*)/i.exec(ref);
  if (!m) return undefined;
  try {
    return { server: parseLdapServers(m[1]!, 'referral')[0]!, base: decodeURIComponent(m[2]!) };
  } catch {
    return undefined;
  }
}

/** Whatever went wrong, as "try again" with the reason: never a wrong password. */
function asTempFail(err: unknown, what: string): TempFail {
  if (err instanceof TempFail) return err;
  const f = classify(err);
  switch (f.kind) {
    case 'result':
      return new TempFail(f.code === 10 ? `LDAP ${what}: the server answered with a referral, which is followed only in search results (${f.message})` : `LDAP ${what}: ${f.message}`);
    case 'timeout':
      return new TempFail(`LDAP ${what} timed out: ${f.message}`);
    case 'lost':
      return new TempFail(`LDAP ${what}: connection lost: ${f.message}`);
    default:
      return new TempFail(`LDAP ${what}: ${f.message}`);
  }
}
