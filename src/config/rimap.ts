import { isIP } from 'node:net';
import { ConfigError } from './errors.js';
import type { KeyName, KeyValues } from './keys.js';

export type RimapTls = 'none' | 'starttls' | 'imaps';

/** `host[/port]` as written; the port, when not given, follows rimap_tls. */
export interface RimapServer {
  /** A host name or an IP address (an IPv6 one without brackets). */
  readonly host: string;
  readonly port: number | undefined;
}

export interface RimapConfig {
  readonly host: string;
  readonly port: number;
  readonly tls: RimapTls;
  /** PEM file of the CAs the server's certificate must chain to; undefined: the system's store. */
  readonly caFile: string | undefined;
  /** The whole conversation (name lookup, connect, TLS, LOGIN's answer) must fit in this. */
  readonly timeoutMs: number;
  /** How long a cached success may answer: the server tells nobody when a password changes. */
  readonly cacheTtlMs: number;
}

/** Service names saslauthd's getaddrinfo would take from /etc/services, for the IMAP ports. */
const SERVICES: Readonly<Record<string, number>> = { imap: 143, imap2: 143, imaps: 993 };

const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;

/**
 * saslauthd's reading of `-O` for rimap: the host, then after the first `/`
 * a port (a number, or imap / imaps). saslauthd splits at the first `/`,
 * so `::1/143` works there and here; `[::1]/143` is taken too.
 */
export function parseRimapServer(value: string, where: string): RimapServer {
  const slash = value.indexOf('/');
  let host = slash < 0 ? value : value.slice(0, slash);
  const portText = slash < 0 ? undefined : value.slice(slash + 1);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host === '') {
    throw new ConfigError(`${where}: ${JSON.stringify(value)} names no IMAP server; with rimap it is host[/port] (as saslauthd's -O), not a file: the configuration file comes from AUTHMUX_CONFIG or /etc/saslauthd.conf`);
  }
  if (!isIP(host) && !HOST_NAME.test(host)) throw new ConfigError(`${where}: ${JSON.stringify(host)} is no host name or IP address`);
  if (portText === undefined) return { host, port: undefined };
  const named = SERVICES[portText.toLowerCase()];
  if (named !== undefined) return { host, port: named };
  if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
    throw new ConfigError(`${where}: port ${JSON.stringify(portText)}: give a number from 1 to 65535 (or imap, imaps)`);
  }
  return { host, port: Number(portText) };
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|::1)$/i;

/**
 * The rimap_* keys, checked together; built only when rimap is one of the
 * mechanisms. `flagServer` is -O when -a names rimap: it wins over
 * rimap_server, as every flag wins over its key.
 */
export function buildRimapConfig(v: KeyValues, whereOf: (k: KeyName) => string, flagServer: string | undefined, warnings: string[]): RimapConfig {
  const server = flagServer !== undefined ? parseRimapServer(flagServer, `-O ${flagServer}`) : v.rimap_server;
  if (!server) throw new ConfigError('mech rimap needs the IMAP server: -O host[/port] (as saslauthd) or the key rimap_server');
  const tls = v.rimap_tls;
  if (tls === 'none' && !LOOPBACK.test(server.host)) {
    warnings.push(`rimap: passwords go to ${server.host} unencrypted (rimap_tls: none, as saslauthd sends them); set rimap_tls: starttls or imaps`);
  }
  if (tls === 'none' && v.rimap_tls_cacert_file !== undefined) warnings.push(`${whereOf('rimap_tls_cacert_file')}: ignored, rimap_tls is none`);
  return {
    host: server.host,
    port: server.port ?? (tls === 'imaps' ? 993 : 143),
    tls,
    caFile: v.rimap_tls_cacert_file,
    timeoutMs: v.rimap_timeout,
    cacheTtlMs: v.rimap_cache_ttl,
  };
}
