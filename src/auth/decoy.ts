import type { Verifier } from '../crypt/verifier.js';
import { Abandoned } from '../work-queue.js';
import { decoyOf, defaultDecoy, isLocked } from '../crypt/schemes.js';
import type { AuthenticateOptions, PasswordRecord } from './types.js';

/**
 * What a password is checked against when there is no account to check it
 * against: the scheme, cost and salt of the last account seen, so an unknown
 * login takes as long as a wrong password and timing does not tell which
 * accounts exist. The mechanisms of a chain share one, so that an unknown
 * user costs what a wrong password costs in whichever of them was last seen.
 */
export class Decoy {
  private current = defaultDecoy();
  private learned = false;

  /**
   * A locked account ("!", "*") has no scheme to give, and a plaintext one
   * never replaces a hash: a client could otherwise look up such an account
   * first to make every unknown login cheap, and so tell them apart.
   */
  learn(record: PasswordRecord): void {
    if (isLocked(record.secret, record.secretIsPlaintext)) return;
    if (record.secretIsPlaintext && this.learned && !this.current.isPlaintext) return;
    this.current = decoyOf(record.secret, record.secretIsPlaintext);
    this.learned = true;
  }

  /** Spends one check of the password against the decoy; its answer is never used. */
  async spend(verifier: Verifier, password: Buffer, opts: AuthenticateOptions): Promise<void> {
    try {
      await verifier.verify(password, this.current.secret, this.current.isPlaintext, opts.signal, opts.trusted);
    } catch (err) {
      // Only a client that left stops the request.
      if (err instanceof Abandoned) throw err;
    }
  }
}
