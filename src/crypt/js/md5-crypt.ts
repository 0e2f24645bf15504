import { createHash } from 'node:crypto';
import { b64From24 } from './b64.js';

const MAGIC = Buffer.from('$1$');

/** Poul-Henning Kamp's MD5-crypt; undefined when the setting is not `$1$`. */
export function md5Crypt(password: Buffer, setting: string): string | undefined {
  const m = /^\$1\$([^$]*)/.exec(setting);
  if (!m) return undefined;
  const salt = Buffer.from(m[1]!.slice(0, 8), 'latin1');
  const md5 = () => createHash('md5');
  const alt = md5().update(password).update(salt).update(password).digest();
  const ctx = md5().update(password).update(MAGIC).update(salt);
  for (let n = password.length; n > 0; n -= 16) ctx.update(alt.subarray(0, Math.min(n, 16)));
  const zero = Buffer.alloc(1);
  const first = password.subarray(0, 1);
  for (let n = password.length; n; n >>>= 1) ctx.update(n & 1 ? zero : first);
  let fin = ctx.digest();
  for (let i = 0; i < 1000; i++) {
    const c = md5();
    c.update(i & 1 ? password : fin);
    if (i % 3) c.update(salt);
    if (i % 7) c.update(password);
    c.update(i & 1 ? fin : password);
    fin = c.digest();
  }
  const f = fin;
  const body =
    b64From24(f[0]!, f[6]!, f[12]!, 4) +
    b64From24(f[1]!, f[7]!, f[13]!, 4) +
    b64From24(f[2]!, f[8]!, f[14]!, 4) +
    b64From24(f[3]!, f[9]!, f[15]!, 4) +
    b64From24(f[4]!, f[10]!, f[5]!, 4) +
    b64From24(0, 0, f[11]!, 2);
  return `$1$${salt.toString('latin1')}$${body}`;
}
