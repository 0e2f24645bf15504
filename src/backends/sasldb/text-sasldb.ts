/**
 * The plain-text sasldb, for admins who want a file they can read and edit:
 *
 *   # comment
 *   alice@example.com:secret1                 plaintext password
 *   bob@example.com:$y$j9T$...                crypt(3) hash (any kind libxcrypt verifies)
 *   carol@example.com:{CRYPT}abJnggxhB/yWI    a DES hash, or any {SCHEME} the verifier knows
 *   dave@example.com:{PLAIN}$tarts-with-$     plaintext that would otherwise look like a hash
 *   eve:secret                                 no "@": the empty realm
 *
 * The key is everything before the first ":", split at its last "@" into
 * user and realm (so a user may itself contain "@", as with saslauthd -r).
 * The value is the rest of the line, taken byte for byte: a hash when it
 * starts with "$" or a {SCHEME} prefix, plaintext otherwise. A user or realm
 * cannot contain ":", a value cannot contain a line break or NUL.
 * The last line for a key wins, so appending a line changes a password.
 */

export interface TextEntry {
  readonly user: string;
  readonly realm: string;
  /** The stored value as written (latin1, so bytes survive). */
  readonly value: string;
  readonly isPlaintext: boolean;
  readonly line: number;
}

export class TextSasldbError extends Error {
  override readonly name = 'TextSasldbError';
}

export function entryKey(user: string, realm: string): string {
  return `${user}\0${realm}`;
}

/** The key as written in the file: "user@realm", or "user" alone for the empty realm. */
export function keyText(user: string, realm: string): string {
  return realm === '' ? user : `${user}@${realm}`;
}

export function looksHashed(value: string): boolean {
  return value.startsWith('$') || /^\{[A-Za-z0-9.-]+\}/.test(value);
}

export function parseTextSasldb(content: Buffer, file = 'sasldb'): Map<string, TextEntry> {
  if (content.includes(0)) throw new TextSasldbError(`${file}: NUL byte: not a text sasldb`);
  const map = new Map<string, TextEntry>();
  const lines = content.toString('latin1').split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.replace(/\r$/, '');
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new TextSasldbError(`${file}:${n + 1}: expected "user@realm:password"`);
    const key = line.slice(0, colon);
    const value = line.slice(colon + 1);
    const at = key.lastIndexOf('@');
    const user = at < 0 ? key : key.slice(0, at);
    const realm = at < 0 ? '' : key.slice(at + 1);
    if (user === '') throw new TextSasldbError(`${file}:${n + 1}: empty user name`);
    if (value === '') throw new TextSasldbError(`${file}:${n + 1}: empty password`);
    map.set(entryKey(user, realm), { user, realm, value, isPlaintext: !looksHashed(value), line: n + 1 });
  }
  return map;
}

/** The line that stores `password` as plaintext, escaping values that would read as a hash. */
export function formatTextLine(user: string, realm: string, value: string, isHash: boolean): string {
  if (/[:\n\r\0]/.test(user) || /[:\n\r\0]/.test(realm) || user === '') throw new TextSasldbError('user and realm must be non-empty and free of ":" and line breaks');
  if (/[\n\r\0]/.test(value) || value === '') throw new TextSasldbError('the password must be non-empty and free of line breaks and NUL');
  const stored = !isHash && looksHashed(value) ? `{PLAIN}${value}` : value;
  return `${keyText(user, realm)}:${stored}`;
}
