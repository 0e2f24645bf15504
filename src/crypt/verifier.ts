import { createHash } from 'node:crypto';
import { TempFail } from '../errors.js';
import { equalSecrets } from './constant-time.js';
import { JsCryptPool, UnsupportedInFallback } from './js/pool.js';
import { loadLibXCrypt, type LibXCrypt } from './libxcrypt.js';
import { VerifyQueue } from '../work-queue.js';
import { parseStoredSecret, type StoredSecret } from './schemes.js';

import type { CryptEngine } from '../config/config.js';

/** The only place where a password is compared with what a backend stored. */
export interface Verifier {
  readonly engine: 'libxcrypt' | 'js';
  /**
   * Whether `password` matches; throws TempFail when this engine cannot check
   * such a secret, and Abandoned when `signal` fired while it waited its turn.
   */
  verify(password: Buffer, secret: string, secretIsPlaintext: boolean, signal?: AbortSignal, first?: boolean): Promise<boolean>;
  /**
   * The same answer without waiting, for a secret that takes no hash worker
   * (a clear password, a salted digest); undefined for any other, which
   * only verify() checks.
   */
  verifyAtOnce(password: Buffer, secret: string, secretIsPlaintext: boolean): boolean | undefined;
  close(): Promise<void>;
}

export interface VerifierOptions {
  readonly engine: CryptEngine;
  readonly concurrency: number;
  /**
   * The threads of libuv's pool, where libxcrypt's hashes run, when known.
   * More than `concurrency` (the first of several serving processes keeps
   * the whole -n pool): no more than `concurrency` are handed to it.
   */
  readonly poolThreads?: number;
  /** Told once which engine was chosen and why. */
  readonly onChoice?: (engine: 'libxcrypt' | 'js', why: string) => void;
}

/** koffi refuses asynchronous calls past 256 in flight; the queue keeps well below. */
const MAX_IN_FLIGHT = 200;

export function createVerifier(opts: VerifierOptions): Verifier {
  let lib: LibXCrypt | undefined;
  let why = 'crypt_engine: js';
  if (opts.engine !== 'js') {
    try {
      lib = loadLibXCrypt();
      why = 'libcrypt.so.1 loaded';
    } catch (err) {
      if (opts.engine === 'libxcrypt') throw new Error(`crypt_engine is libxcrypt but it cannot be loaded: ${String(err)}`);
      why = `libcrypt.so.1 unavailable (${String(err)}), using the pure-JS verifiers`;
    }
  }
  const pool = lib ? undefined : new JsCryptPool(opts.concurrency);
  const engine = lib ? 'libxcrypt' : 'js';
  opts.onChoice?.(engine, why);
  // Twice -n handed down: libuv's pool (sized -n) then always has the next hash at hand and never
  // waits for a busy event loop to pass one on; everything beyond waits here, where it can be dropped.
  // A pool larger than -n would run them all at once: it is handed -n.
  const larger = opts.poolThreads !== undefined && opts.poolThreads > opts.concurrency;
  const queue = new VerifyQueue(Math.max(1, Math.min(larger ? opts.concurrency : 2 * opts.concurrency, MAX_IN_FLIGHT)));

  const atOnce = (password: Buffer, stored: StoredSecret): boolean | undefined => {
    if (stored.kind === 'plain') return equalSecrets(password, stored.value);
    // A digest takes microseconds: computed here, with no place in the queue to wait for.
    if (stored.kind === 'digest') return equalSecrets(createHash(stored.algorithm).update(password).update(stored.salt).digest(), stored.digest);
    if (stored.kind === 'malformed') return false;
    return undefined;
  };

  return {
    engine,
    verifyAtOnce(password, secret, secretIsPlaintext) {
      return atOnce(password, parseStoredSecret(secret, secretIsPlaintext));
    },
    async verify(password, secret, secretIsPlaintext, signal, first) {
      const stored = parseStoredSecret(secret, secretIsPlaintext);
      const now = atOnce(password, stored);
      if (now !== undefined) return now;
      if (stored.kind === 'unsupported') throw new TempFail(`unsupported password scheme {${stored.scheme}}`);
      if (stored.kind !== 'crypt') return false; // atOnce() answered every other kind
      const hash = stored.hash;
      if (lib) return queue.run(() => lib.verify(password, hash), signal, first);
      try {
        return await queue.run(() => pool!.verify(password, hash), signal, first);
      } catch (err) {
        if (err instanceof UnsupportedInFallback) throw new TempFail(`cannot verify this hash without libxcrypt: ${err.message}`);
        throw err;
      }
    },
    async close() {
      await pool?.close();
    },
  };
}
