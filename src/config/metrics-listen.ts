import { isAbsolute } from 'node:path';
import { isIP } from 'node:net';
import { ConfigError } from './errors.js';

/** Where the metrics are served: a TCP address or a Unix socket. */
export type MetricsListen = { readonly kind: 'tcp'; readonly host: string; readonly port: number } | { readonly kind: 'unix'; readonly path: string };

const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/**
 * `host:port` (`[::1]:9100` for IPv6) or an absolute socket path. A
 * relative path is refused rather than taken from the file's directory:
 * `metrics:9100` would otherwise read as a file name.
 */
export function parseMetricsListen(value: string, where: string): MetricsListen {
  if (value.includes('/')) {
    if (!isAbsolute(value)) throw new ConfigError(`${where}: ${JSON.stringify(value)}: a socket path must be absolute`);
    return { kind: 'unix', path: value };
  }
  const colon = value.lastIndexOf(':');
  if (colon < 0) throw new ConfigError(`${where}: expected host:port or an absolute socket path, got ${JSON.stringify(value)}`);
  let host = value.slice(0, colon);
  const portText = value.slice(colon + 1);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  else if (host.includes(':')) throw new ConfigError(`${where}: write an IPv6 address in brackets, as [::1]:9100`);
  if (!isIP(host) && !HOST_NAME.test(host)) throw new ConfigError(`${where}: ${JSON.stringify(host)} is no host name or IP address`);
  if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
    throw new ConfigError(`${where}: port ${JSON.stringify(portText)}: give a number from 1 to 65535`);
  }
  return { kind: 'tcp', host, port: Number(portText) };
}
