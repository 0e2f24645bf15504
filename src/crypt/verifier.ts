import { TempFail } from '../auth/types.js';
import { equalSecrets } from './constant-time.js';
import { JsCryptPool, UnsupportedInFallback } from './js/pool.js';
import { loadLibXCrypt, type LibXCrypt } from './libxcrypt.js';
import { parseStoredSecret } from './schemes.js';

export type CryptEngine = 'auto' | 'libxcrypt' | 'js';

/** The only place where a password is compared with what a backend stored. */
export interface Verifier {
  readonly engine: 'libxcrypt' | 'js';
  /** Whether `password` matches; throws TempFail when this engine cannot check such a secret. */
  verify(password: Buffer, secret: string, secretIsPlaintext: boolean): Promise<boolean>;
  close(): Promise<void>;
}

export interface VerifierOptions {
  readonly engine: CryptEngine;
  readonly concurrency: number;
  /** Told once which engine was chosen and why. */
  readonly onChoice?: (engine: 'libxcrypt' | 'js', why: string) => void;
}

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

  return {
    engine,
    async verify(password, secret, secretIsPlaintext) {
      const stored = parseStoredSecret(secret, secretIsPlaintext);
      if (stored.kind === 'plain') return equalSecrets(password, stored.value);
      if (stored.kind === 'unsupported') throw new TempFail(`unsupported password scheme {${stored.scheme}}`);
      const hash = stored.hash;
      // No queue of our own: libuv's pool threads (sized to -n by the CLI) take the next
      // queued hash themselves, without waiting for the busy event loop to hand it over.
      if (lib) return lib.verify(password, hash);
      try {
        return await pool!.verify(password, hash);
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
