import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createSecureContext, type ConnectionOptions } from 'node:tls';
import { ConfigError } from '../../config/errors.js';
import type { LdapTls } from '../../config/ldap.js';

/** Debian's CA bundle, which its libldap (TLS_CACERT in /etc/ldap/ldap.conf) trusts by default. */
export const SYSTEM_CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

function read(key: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ConfigError(`${key} ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Every certificate in the files of a directory (c_rehash's links included), each once. */
function certsInDir(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    throw new ConfigError(`ldap_tls_cacert_dir ${dir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const certs = new Set<string>();
  for (const name of names.sort()) {
    const p = join(dir, name);
    try {
      if (!statSync(p).isFile()) continue;
      for (const m of readFileSync(p, 'latin1').matchAll(PEM_CERT)) certs.add(m[0]);
    } catch {
      // A file that cannot be read holds no certificate for us.
    }
  }
  if (certs.size === 0) throw new ConfigError(`ldap_tls_cacert_dir ${dir}: no PEM certificate in it`);
  return [...certs];
}

/**
 * The TLS settings of every connection (ldaps://, StartTLS), read once at
 * start and on SIGHUP: a file that cannot be read, or a cipher list OpenSSL
 * does not take, stops the start naming the key. Without a CA key, the
 * system's bundle is trusted, as Debian's libldap does.
 */
export function tlsOptions(t: LdapTls): ConnectionOptions {
  const ca: Array<string | Buffer> = [];
  if (t.caFile) ca.push(read('ldap_tls_cacert_file', t.caFile));
  if (t.caDir) ca.push(...certsInDir(t.caDir));
  if (ca.length === 0) {
    try {
      ca.push(readFileSync(SYSTEM_CA_BUNDLE));
    } catch {
      // No system bundle: Node's own list of public CAs applies.
    }
  }
  if ((t.certFile === undefined) !== (t.keyFile === undefined)) throw new ConfigError('ldap_tls_cert and ldap_tls_key go together: give both or neither');
  const options: ConnectionOptions = {
    rejectUnauthorized: t.checkPeer,
    ...(ca.length > 0 ? { ca } : {}),
    ...(t.certFile ? { cert: read('ldap_tls_cert', t.certFile), key: read('ldap_tls_key', t.keyFile!) } : {}),
    ...(t.ciphers ? { ciphers: t.ciphers } : {}),
  };
  try {
    createSecureContext(options);
  } catch (err) {
    throw new ConfigError(`LDAP TLS settings (ldap_tls_*): ${(err as Error).message}`);
  }
  return options;
}
