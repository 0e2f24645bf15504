import { existsSync } from 'node:fs';
import { WatchedFile } from '../watched-file.js';

/**
 * Where distributions keep the system's CA bundle, the one update-ca-certificates
 * (Debian), update-ca-trust (Red Hat) and the like maintain. Node 20 would
 * otherwise trust its own copy of Mozilla's list, which ignores a CA the
 * admin added to the system and keeps one the system removed.
 */
export const SYSTEM_CA_BUNDLES = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt', '/etc/ssl/ca-bundle.pem', '/etc/ssl/cert.pem'];

export interface Trust {
  /** The file the CAs come from; undefined: Node's own list (no system bundle found). */
  readonly file: string | undefined;
  /** The CAs as PEM, read again whenever the file changes (a renewed CA needs no restart); throws TempFail when unreadable. */
  readonly ca: () => string | undefined;
}

function pem(content: Buffer): string {
  const text = content.toString('latin1');
  if (!text.includes('-----BEGIN CERTIFICATE-----')) throw new Error('holds no PEM certificate');
  return text;
}

export function trustFrom(caFile: string | undefined, bundles: readonly string[] = SYSTEM_CA_BUNDLES): Trust {
  const file = caFile ?? bundles.find((b) => existsSync(b));
  if (file === undefined) return { file, ca: () => undefined };
  const watched = new WatchedFile(file, pem);
  return { file, ca: () => watched.get() };
}
