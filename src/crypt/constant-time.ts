import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

// Comparing MACs under a per-process key hides both content and length of the
// secrets from timing: every comparison is of two 32-byte values.
const key = randomBytes(32);

export function equalSecrets(a: Buffer, b: Buffer): boolean {
  const ma = createHmac('sha256', key).update(a).digest();
  const mb = createHmac('sha256', key).update(b).digest();
  return timingSafeEqual(ma, mb);
}

/** Compares a computed crypt output (NUL-terminated in `out`) with the stored hash. */
export function equalCryptOutput(out: Buffer, hash: Buffer): boolean {
  const end = out.indexOf(0);
  const computed = end < 0 ? out : out.subarray(0, end);
  return equalSecrets(computed, hash);
}
