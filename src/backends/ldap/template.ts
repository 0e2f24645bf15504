import { ConfigError } from '../../config/errors.js';
import type { LdapTemplate } from '../../config/ldap.js';

/**
 * saslauthd's tokens (lak.c, LDAP_SASLAUTHD): %u login, %U its part before
 * the first @, %d the part after it (the realm when there is none), %1-%9
 * the domain's labels from the right, %s service, %r realm, %R "@realm",
 * %D the user's DN (group keys only), %% a percent sign.
 */
type Token = 'u' | 'U' | 'd' | 's' | 'r' | 'R' | 'D' | '%' | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9;

export interface Template {
  /** Literal text, and tokens to fill in. */
  readonly parts: ReadonlyArray<string | { readonly token: Token }>;
  /** Whether the login takes part: a filter without it finds the same entry for everyone. */
  readonly namesUser: boolean;
}

/** What the tokens stand for in one request. */
export interface TokenValues {
  readonly login: string;
  readonly service: string;
  /** The request's realm, else ldap_default_realm. */
  readonly realm: string;
  readonly dn?: string;
}

/** Where the expansion goes decides how values are escaped. */
export type Context = 'filter' | 'dn';

const TOKENS = 'uUdsrRD%';

/**
 * Reads a value's tokens once, at start: an unknown token or a lone % at
 * the end stops the start naming the line, where saslauthd would drop it
 * without a word and search for something else than the admin wrote.
 */
export function compileTemplate(t: LdapTemplate, key: string, opts: { allowDn: boolean }): Template {
  const parts: Array<string | { token: Token }> = [];
  let literal = '';
  for (let i = 0; i < t.text.length; i++) {
    const c = t.text[i]!;
    if (c !== '%') {
      literal += c;
      continue;
    }
    const n = t.text[++i];
    if (n === undefined) throw new ConfigError(`${t.where}: ${key} ends with a lone %; write %% for a percent sign`);
    let token: Token;
    if (n >= '1' && n <= '9') token = Number(n) as Token;
    else if (TOKENS.includes(n)) token = n as Token;
    else throw new ConfigError(`${t.where}: ${key} has %${n}, which is no token; tokens are %u %U %d %1-%9 %s %r %R %D %%`);
    if (token === 'D' && !opts.allowDn) throw new ConfigError(`${t.where}: %D (the user's DN) is known only in ldap_group_dn, ldap_group_filter and ldap_group_search_base`);
    if (token === '%') {
      literal += '%';
      continue;
    }
    if (literal) parts.push(literal);
    literal = '';
    parts.push({ token });
  }
  if (literal) parts.push(literal);
  return { parts, namesUser: parts.some((p) => typeof p !== 'string' && (p.token === 'u' || p.token === 'U')) };
}

/** The domain a login names (after its first @), else the realm. */
function domainOf(v: TokenValues): string {
  const at = v.login.indexOf('@');
  return at >= 0 && at < v.login.length - 1 ? v.login.slice(at + 1) : v.realm;
}

function tokenValue(token: Token, v: TokenValues): { text: string; isDn?: boolean } {
  switch (token) {
    case 'u':
      return { text: v.login };
    case 'U': {
      const at = v.login.indexOf('@');
      return { text: at < 0 ? v.login : v.login.slice(0, at) };
    }
    case 'd':
      return { text: domainOf(v) };
    case 's':
      return { text: v.service };
    case 'r':
      return { text: v.realm };
    case 'R':
      return { text: v.realm === '' ? '' : `@${v.realm}` };
    case 'D':
      return { text: v.dn ?? '', isDn: true };
    case '%':
      return { text: '%' };
    default: {
      // %1 is the last label (the top-level domain), as saslauthd counts.
      const labels = domainOf(v).split('.');
      return { text: token <= labels.length ? labels[labels.length - token]! : '' };
    }
  }
}

/**
 * The template with every token replaced by its value, escaped for where it
 * goes: a login such as `*)(uid=*` stays one value in a filter, and
 * `x,ou=admins` one value in a DN. A DN (%D) goes into a DN as it is, since
 * it is one already, and into a filter escaped like any value.
 */
export function expand(t: Template, values: TokenValues, context: Context): string {
  let out = '';
  for (const part of t.parts) {
    if (typeof part === 'string') {
      out += part;
      continue;
    }
    const v = tokenValue(part.token, values);
    out += context === 'filter' ? escapeFilterValue(v.text) : v.isDn ? v.text : escapeDnValue(v.text);
  }
  return out;
}

/** RFC 4515 section 3: the characters a filter gives meaning to, as \XX. */
export function escapeFilterValue(s: string): string {
  return s.replace(/[*()\\\0]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/**
 * RFC 4514 section 2.4: an attribute value inside a DN. The special
 * characters (and = too, which the RFC allows escaping) take a backslash;
 * a leading space or #, a trailing space and control characters are
 * escaped as well, so the value can neither end the RDN nor start another.
 */
export function escapeDnValue(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    const code = c.charCodeAt(0);
    if ('\\"+,;<>='.includes(c)) out += `\\${c}`;
    else if (code < 0x20 || code === 0x7f) out += `\\${code.toString(16).padStart(2, '0')}`;
    else if ((i === 0 && (c === ' ' || c === '#')) || (i === s.length - 1 && c === ' ')) out += `\\${c}`;
    else out += c;
  }
  return out;
}
