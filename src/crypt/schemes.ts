/**
 * Stored secrets come as bare crypt(3) hashes or with an LDAP/Dovecot style
 * {SCHEME} prefix. This decides which comparison applies; it never compares.
 */
export type StoredSecret =
  | { readonly kind: 'crypt'; readonly hash: string }
  | { readonly kind: 'plain'; readonly value: Buffer }
  | { readonly kind: 'digest'; readonly algorithm: DigestAlgorithm; readonly digest: Buffer; readonly salt: Buffer }
  /** A digest scheme whose value does not decode to a digest: nothing matches it. */
  | { readonly kind: 'malformed'; readonly scheme: string }
  | { readonly kind: 'unsupported'; readonly scheme: string };

export type DigestAlgorithm = 'md5' | 'sha1' | 'sha256' | 'sha512';

// {UNIX} is saslauthd's other name for {CRYPT} in userPassword values.
const CRYPT_SCHEMES = new Set(['CRYPT', 'UNIX', 'MD5-CRYPT', 'SHA256-CRYPT', 'SHA512-CRYPT', 'BLF-CRYPT', 'DES-CRYPT']);
const PLAIN_SCHEMES = new Set(['PLAIN', 'CLEAR', 'CLEARTEXT']);

/**
 * The LDAP digests (RFC 2307's {MD5} and {SHA}, OpenLDAP's salted {SMD5} and
 * {SSHA}, and the SHA-2 ones of its pw-sha2 module and Dovecot): base64 of the
 * digest, followed by the salt for the salted ones.
 */
const DIGEST_SCHEMES: ReadonlyMap<string, { readonly algorithm: DigestAlgorithm; readonly length: number; readonly salted: boolean }> = new Map([
  ['MD5', { algorithm: 'md5', length: 16, salted: false }],
  ['SMD5', { algorithm: 'md5', length: 16, salted: true }],
  ['SHA', { algorithm: 'sha1', length: 20, salted: false }],
  ['SSHA', { algorithm: 'sha1', length: 20, salted: true }],
  ['SHA256', { algorithm: 'sha256', length: 32, salted: false }],
  ['SSHA256', { algorithm: 'sha256', length: 32, salted: true }],
  ['SHA512', { algorithm: 'sha512', length: 64, salted: false }],
  ['SSHA512', { algorithm: 'sha512', length: 64, salted: true }],
] as const);

function parseDigest(scheme: string, value: string): StoredSecret | undefined {
  const d = DIGEST_SCHEMES.get(scheme);
  if (!d) return undefined;
  // Node's base64 decoder skips what it cannot read; a value that is not base64 must not shrink into one that is.
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.length % 4 !== 0) return { kind: 'malformed', scheme };
  const raw = Buffer.from(value, 'base64');
  if (d.salted ? raw.length <= d.length : raw.length !== d.length) return { kind: 'malformed', scheme };
  return { kind: 'digest', algorithm: d.algorithm, digest: raw.subarray(0, d.length), salt: raw.subarray(d.length) };
}

export function parseStoredSecret(stored: string, isPlaintext: boolean): StoredSecret {
  if (isPlaintext) return { kind: 'plain', value: Buffer.from(stored, 'latin1') };
  const m = /^\{([A-Za-z0-9.-]+)\}/.exec(stored);
  if (!m) return { kind: 'crypt', hash: stored };
  const scheme = m[1]!.toUpperCase();
  const rest = stored.slice(m[0].length);
  if (CRYPT_SCHEMES.has(scheme)) return { kind: 'crypt', hash: rest };
  if (PLAIN_SCHEMES.has(scheme)) return { kind: 'plain', value: Buffer.from(rest, 'latin1') };
  return parseDigest(scheme, rest) ?? { kind: 'unsupported', scheme };
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

const CRYPT64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/**
 * A stored secret that costs the same to check as `secret` and never
 * matches: the same scheme, cost and salt, with the hash output replaced by
 * dots. Checking a login for an unknown user against it takes as long as a
 * wrong password for a real one, so response time does not tell which
 * logins exist. Only the setting is kept, never a hash.
 */
export function decoyOf(secret: string, isPlaintext: boolean): { readonly secret: string; readonly isPlaintext: boolean } {
  // A NUL never arrives in a password (every front door refuses one), so this plaintext never matches.
  if (isPlaintext) return { secret: '\0', isPlaintext: true };
  const m = /^\{[A-Za-z0-9.-]+\}/.exec(secret);
  const prefix = m ? m[0] : '';
  const hash = secret.slice(prefix.length);
  const digest = m ? parseDigest(m[0].slice(1, -1).toUpperCase(), hash) : undefined;
  // A digest costs the same whatever its bytes: zeros of the same length, salt and all.
  if (digest?.kind === 'digest') return { secret: prefix + Buffer.alloc(digest.digest.length + digest.salt.length).toString('base64'), isPlaintext: false };
  let keep: number;
  if (/^\$2[abxy]\$\d\d\$[./A-Za-z0-9]{53}$/.test(hash)) keep = 29;
  else if (hash.startsWith('$')) keep = hash.lastIndexOf('$') + 1;
  else if (/^[./0-9A-Za-z]{13}$/.test(hash)) keep = 2;
  else if (/^_[./0-9A-Za-z]{19}$/.test(hash)) keep = 9;
  // No hash at all ("!", "*", ""): the real account fails at once too.
  else return { secret, isPlaintext: false };
  return { secret: prefix + hash.slice(0, keep) + '.'.repeat(hash.length - keep), isPlaintext: false };
}

/** The decoy used before any real account was seen: SHA-512-crypt at its default cost, which every engine checks. */
export function defaultDecoy(): { readonly secret: string; readonly isPlaintext: boolean } {
  let salt = '';
  for (let i = 0; i < 16; i++) salt += CRYPT64[Math.floor(Math.random() * 64)];
  return { secret: `$6$${salt}$${'.'.repeat(86)}`, isPlaintext: false };
}

/** A shadow-style locked or disabled entry ("!…", "*…", empty): no password ever matches it. */
export function isLocked(secret: string, isPlaintext: boolean): boolean {
  return !isPlaintext && /^(?:\{[A-Za-z0-9.-]+\})?(?:[!*]|$)/.test(secret);
}
