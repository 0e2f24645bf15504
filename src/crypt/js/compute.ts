import bcrypt from 'bcryptjs';
import unixCryptTD from 'unix-crypt-td-js';
import { equalSecrets } from '../constant-time.js';
import { hashFamily } from '../schemes.js';
import { md5Crypt } from './md5-crypt.js';
import { shaCrypt } from './sha-crypt.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

export class UnsupportedHash extends Error {
  override readonly name = 'UnsupportedHash';
}

/** The computed and the stored hash compared in constant time, as libxcrypt's path compares them. */
function sameHash(computed: string | undefined, stored: string): boolean {
  if (computed === undefined) return false;
  return equalSecrets(Buffer.from(computed, 'latin1'), Buffer.from(stored, 'latin1'));
}

/**
 * Verifies synchronously on the calling thread: call it only from a worker.
 * Returns whether `password` produces `hash`; throws UnsupportedHash when this
 * path cannot decide (the caller must not treat that as a wrong password).
 */
export function verifyInJs(password: Buffer, hash: string): boolean {
  const family = hashFamily(hash);
  switch (family) {
    case 'sha512crypt':
    case 'sha256crypt':
      return sameHash(shaCrypt(password, hash), hash);
    case 'md5crypt':
      return sameHash(md5Crypt(password, hash), hash);
    case 'descrypt': {
      // unix-crypt-td-js reads 7 bits of each element: it must be handed the UTF-8
      // bytes, not a JS string, or non-ASCII passwords hash differently from libc.
      const bytes = Array.from(password.subarray(0, 8));
      const end = bytes.indexOf(0);
      return sameHash(unixCryptTD(end < 0 ? bytes : bytes.slice(0, end), hash.slice(0, 2)), hash);
    }
    case 'bcrypt': {
      if (hash.startsWith('$2x$')) throw new UnsupportedHash('bcrypt $2x$ needs libxcrypt');
      let text: string;
      try {
        text = utf8.decode(password);
      } catch {
        throw new UnsupportedHash('bcrypt fallback needs a UTF-8 password');
      }
      return bcrypt.compareSync(text, hash);
    }
    default:
      // A $id$ or _ setting may be a hash libxcrypt knows; anything else ("x", "!", "*", "")
      // is no hash at all and fails there too.
      if (hash.startsWith('$') || hash.startsWith('_')) throw new UnsupportedHash(`${family} hash needs libxcrypt`);
      return false;
  }
}
