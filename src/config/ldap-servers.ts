import { ConfigError } from './errors.js';

/** One URI of ldap_servers. */
export interface LdapServer {
  /** As written, for log lines. */
  readonly uri: string;
  readonly scheme: 'ldap' | 'ldaps' | 'ldapi';
  /** The host name or address (ldap, ldaps), also the name a certificate must carry. */
  readonly host: string;
  readonly port: number;
  /** ldapi: the Unix socket. */
  readonly socketPath?: string;
}

/** Where Debian's libldap puts slapd's socket when an ldapi:// URI names none. */
export const DEFAULT_LDAPI_SOCKET = '/var/run/slapd/ldapi';

/**
 * ldap_servers as libldap reads it: URIs separated by spaces (or commas),
 * tried in order. ldapi:// names its socket percent-encoded
 * (ldapi://%2Frun%2Fslapd%2Fldapi). A URI that carries more than a host and a
 * port (a DN, attributes, a filter) is refused: libldap would drop the rest
 * without a word, and the admin may have meant it as the search base.
 */
export function parseLdapServers(value: string, where: string): readonly LdapServer[] {
  const uris = value.split(/[\s,]+/).filter(Boolean);
  if (uris.length === 0) throw new ConfigError(`${where}: no server named`);
  return uris.map((uri) => parseOne(uri, where));
}

function parseOne(uri: string, where: string): LdapServer {
  const m = /^(ldaps?|ldapi):\/\/([^/]*)\/?$/i.exec(uri);
  if (!m) {
    const more = /^(ldaps?|ldapi):\/\/[^/]*\/./i.test(uri);
    throw new ConfigError(
      more
        ? `${where}: ${uri}: only scheme, host and port are read here; put the base DN in ldap_search_base`
        : `${where}: ${JSON.stringify(uri)} is not an ldap://, ldaps:// or ldapi:// URI`,
    );
  }
  const scheme = m[1]!.toLowerCase() as LdapServer['scheme'];
  const hostPort = m[2]!;
  if (scheme === 'ldapi') {
    let socketPath: string;
    try {
      socketPath = hostPort === '' ? DEFAULT_LDAPI_SOCKET : decodeURIComponent(hostPort);
    } catch {
      throw new ConfigError(`${where}: ${uri}: the socket path is not percent-encoded correctly`);
    }
    if (!socketPath.startsWith('/')) throw new ConfigError(`${where}: ${uri}: an ldapi socket must be an absolute path (write / as %2F)`);
    return { uri, scheme, host: 'localhost', port: 0, socketPath };
  }
  const hp = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]*))(?::(\d{1,5}))?$/.exec(hostPort);
  if (!hp) throw new ConfigError(`${where}: ${uri}: cannot read the host and port`);
  const host = hp[1] ?? (hp[2] === '' ? 'localhost' : hp[2]!);
  const port = hp[3] === undefined ? (scheme === 'ldaps' ? 636 : 389) : Number(hp[3]);
  if (port < 1 || port > 65535) throw new ConfigError(`${where}: ${uri}: port ${port} is out of range`);
  return { uri, scheme, host, port };
}
