/**
 * Stored secrets come as bare crypt(3) hashes or with an LDAP/Dovecot style
 * {SCHEME} prefix. This decides which comparison applies; it never compares.
 */
export type StoredSecret =
  | { readonly kind: 'crypt'; readonly hash: string }
  | { readonly kind: 'plain'; readonly value: Buffer }
  | { readonly kind: 'unsupported'; readonly scheme: string };

const CRYPT_SCHEMES = new Set(['CRYPT', 'MD5-CRYPT', 'SHA256-CRYPT', 'SHA512-CRYPT', 'BLF-CRYPT', 'DES-CRYPT']);
const PLAIN_SCHEMES = new Set(['PLAIN', 'CLEAR', 'CLEARTEXT']);

export function parseStoredSecret(stored: string, isPlaintext: boolean): StoredSecret {
  if (isPlaintext) return { kind: 'plain', value: Buffer.from(stored, 'latin1') };
  const m = /^\{([A-Za-z0-9.-]+)\}/.exec(stored);
  if (!m) return { kind: 'crypt', hash: stored };
  const scheme = m[1]!.toUpperCase();
  const rest = stored.slice(m[0].length);
  if (CRYPT_SCHEMES.has(scheme)) return { kind: 'crypt', hash: rest };
  if (PLAIN_SCHEMES.has(scheme)) return { kind: 'plain', value: Buffer.from(rest, 'latin1') };
  return { kind: 'unsupported', scheme };
}

/** The hash family, by its prefix; used to pick a JS fallback and for logs. */
export function hashFamily(hash: string): string {
  if (hash.startsWith('$y$')) return 'yescrypt';
  if (hash.startsWith('$gy$')) return 'gost-yescrypt';
  if (hash.startsWith('$7$')) return 'scrypt';
  if (/^\$2[abxy]\$/.test(hash)) return 'bcrypt';
  if (hash.startsWith('$6$')) return 'sha512crypt';
  if (hash.startsWith('$5$')) return 'sha256crypt';
  if (hash.startsWith('$1$')) return 'md5crypt';
  if (hash.startsWith('_')) return 'bsdicrypt';
  if (/^[./0-9A-Za-z]{13}$/.test(hash)) return 'descrypt';
  return 'unknown';
}
