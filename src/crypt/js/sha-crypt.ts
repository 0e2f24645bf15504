import { createHash } from 'node:crypto';
import { b64From24 } from './b64.js';

// SHA-256/512-crypt as specified by Ulrich Drepper ("Unix crypt using SHA-256 and SHA-512").
const ROUNDS_DEFAULT = 5000;
const ROUNDS_MIN = 1000;
const ROUNDS_MAX = 999_999_999;

type Alg = 'sha256' | 'sha512';

function repeatTo(block: Buffer, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let off = 0; off < length; off += block.length) block.copy(out, off, 0, Math.min(block.length, length - off));
  return out;
}

function encode(alg: Alg, r: Buffer): string {
  let out = '';
  if (alg === 'sha512') {
    for (let k = 0; k < 21; k++) {
      const t = [k, k + 21, k + 42];
      const rot = k % 3;
      const [a, b, c] = [t[rot % 3]!, t[(rot + 1) % 3]!, t[(rot + 2) % 3]!];
      out += b64From24(r[a]!, r[b]!, r[c]!, 4);
    }
    out += b64From24(0, 0, r[63]!, 2);
  } else {
    for (let k = 0; k < 10; k++) {
      const t = [k, k + 10, k + 20];
      const rot = k % 3;
      const [a, b, c] = [t[(3 - rot) % 3]!, t[(4 - rot) % 3]!, t[(5 - rot) % 3]!];
      out += b64From24(r[a]!, r[b]!, r[c]!, 4);
    }
    out += b64From24(0, r[31]!, r[30]!, 3);
  }
  return out;
}

/** Returns the full hash string for `setting`, or undefined when the setting is not SHA-crypt. */
export function shaCrypt(password: Buffer, setting: string): string | undefined {
  const m = /^\$([56])\$(?:rounds=(\d+)\$)?([^$]*)/.exec(setting);
  if (!m) return undefined;
  const alg: Alg = m[1] === '5' ? 'sha256' : 'sha512';
  const custom = m[2] !== undefined;
  let rounds = custom ? Number(m[2]) : ROUNDS_DEFAULT;
  if (!Number.isSafeInteger(rounds)) return undefined;
  rounds = Math.min(ROUNDS_MAX, Math.max(ROUNDS_MIN, rounds));
  const salt = Buffer.from(m[3]!.slice(0, 16), 'latin1');
  const H = () => createHash(alg);
  const hashLen = alg === 'sha512' ? 64 : 32;
  const pl = password.length;

  const b = H().update(password).update(salt).update(password).digest();
  const ctxA = H().update(password).update(salt);
  for (let n = pl; n > 0; n -= hashLen) ctxA.update(b.subarray(0, Math.min(n, hashLen)));
  for (let n = pl; n > 0; n >>>= 1) ctxA.update(n & 1 ? b : password);
  let c = ctxA.digest();

  const dp = H();
  for (let i = 0; i < pl; i++) dp.update(password);
  const p = repeatTo(dp.digest(), pl);
  const ds = H();
  for (let i = 0; i < 16 + c[0]!; i++) ds.update(salt);
  const s = repeatTo(ds.digest(), salt.length);

  for (let i = 0; i < rounds; i++) {
    const ctx = H();
    ctx.update(i & 1 ? p : c);
    if (i % 3) ctx.update(s);
    if (i % 7) ctx.update(p);
    ctx.update(i & 1 ? c : p);
    c = ctx.digest();
  }
  const prefix = `$${m[1]}$${custom ? `rounds=${rounds}$` : ''}${salt.toString('latin1')}$`;
  return prefix + encode(alg, c);
}
