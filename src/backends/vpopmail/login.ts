/** Where a vpopmail login points: the local part and the domain, both lowercased. */
export interface VpopmailAddress {
  readonly user: string;
  readonly domain: string;
}

/** vpopmail's column widths: a longer name cannot be in the table. */
const MAX_USER = 64;
const MAX_DOMAIN = 96;
/** vchkpw splits at the first of these. */
const SEPARATORS = /[@%/]/;
/** Names that vpopmail's tools can create; anything else is no such user, and never reaches SQL as a table name. */
const DOMAIN_SHAPE = /^[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?$/;
/**
 * The local parts vpopmail's own tools can create (RFC 5322 atext and `.`,
 * lowercased; the separators are split off before). Nothing else can be an
 * account, so nothing else is sent to the database: no space for a PAD SPACE
 * collation to ignore, no byte above 0x7f for an accent-insensitive one to
 * fold, no backslash or double quote for a server's sql_mode to reinterpret.
 */
const LOCAL_PART = /^[a-z0-9!#$%&'*+\-/=?^_`{|}~.]+$/;

/** ASCII-only, as vpopmail's lower_case(): a byte above 0x7f is never folded into something else. */
function asciiLower(s: string): string {
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

/**
 * Splits a login as vchkpw does (`user@domain`, `user%domain`,
 * `user/domain`); without a domain, the saslauthd realm, then the default
 * domain. Returns undefined for logins that cannot name an account.
 */
export function parseVpopmailLogin(login: string, realm: string, defaultDomain: string): VpopmailAddress | undefined {
  const lower = asciiLower(login);
  const at = lower.search(SEPARATORS);
  const user = at < 0 ? lower : lower.slice(0, at);
  const domain = at < 0 ? asciiLower(realm !== '' ? realm : defaultDomain) : lower.slice(at + 1);
  if (user.length > MAX_USER || !LOCAL_PART.test(user)) return undefined;
  if (domain.length > MAX_DOMAIN || !DOMAIN_SHAPE.test(domain)) return undefined;
  return { user, domain };
}

/** vpopmail's own tables and the many-domains user table: a domain must never map onto one of them. */
const RESERVED_TABLES = new Set(['vpopmail', 'lastauth', 'relay', 'vlog', 'valias', 'limits', 'dir_control', 'ip_alias_map', 'aliasdomains']);

/**
 * The per-domain layout's table: `mail-x.co.uk` -> `mail_x_co_uk`, or
 * undefined for a name that is no hosted domain's table: no dot (so never
 * `lastauth`), or a mapping onto one of vpopmail's own tables (`dir.control`).
 */
export function perDomainTable(domain: string): string | undefined {
  if (!DOMAIN_SHAPE.test(domain) || !domain.includes('.')) return undefined;
  const table = domain.replace(/[.-]/g, '_');
  return RESERVED_TABLES.has(table) ? undefined : table;
}
