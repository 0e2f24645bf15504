import type { Verifier } from '../crypt/verifier.js';
import type { CredentialCache } from './cache.js';
import { TempFail, type AuthRequest, type Backend, type Result } from './types.js';

export interface AuthenticatorOptions {
  readonly backend: Backend;
  readonly verifier: Verifier;
  readonly cache?: CredentialCache | undefined;
  /** saslauthd -r: the backend sees "login@realm" when the realm is not empty. */
  readonly combineRealm: boolean;
  readonly now?: () => number;
}

const DAY_MS = 86_400_000;

/**
 * Decides one login: cache, backend lookup, hash verification, account
 * policy. Every outcome is a Result; nothing here throws to the front door.
 */
export class Authenticator {
  readonly backend: Backend;
  private readonly verifier: Verifier;
  private readonly cache: CredentialCache | undefined;
  private readonly combineRealm: boolean;
  private readonly now: () => number;

  constructor(opts: AuthenticatorOptions) {
    this.backend = opts.backend;
    this.verifier = opts.verifier;
    this.cache = opts.cache;
    this.combineRealm = opts.combineRealm;
    this.now = opts.now ?? Date.now;
  }

  /** The login the backend sees, after realm combining. */
  effectiveLogin(req: AuthRequest): string {
    return this.combineRealm && req.realm !== '' ? `${req.login}@${req.realm}` : req.login;
  }

  async authenticate(original: AuthRequest): Promise<Result> {
    const login = this.effectiveLogin(original);
    const req: AuthRequest = login === original.login ? original : { ...original, login };
    try {
      const today = Math.floor(this.now() / DAY_MS);
      // The day is part of the stamp: an account that expires at midnight must not live on in the cache.
      // Without a cache nothing reads the stamp, so the backend is not asked for it (a stat per file).
      const generation = this.cache ? `${this.backend.generation?.() ?? ''}|${today}` : '';
      if (this.cache?.hit(login, req.realm, req.service, req.password, generation)) return { kind: 'ok', cached: true };

      const record = await this.backend.lookup(req);
      if (!record) return { kind: 'fail', code: 'no_such_user', reason: 'no such user' };
      const matches = await this.verifier.verify(req.password, record.secret, record.secretIsPlaintext);
      if (!matches) return { kind: 'fail', code: 'bad_password', reason: 'password mismatch' };
      const refused = record.policy?.(today);
      if (refused) return { kind: 'fail', code: refused, reason: refused.replace('_', ' ') };

      this.cache?.store(login, req.realm, req.service, req.password, generation);
      return { kind: 'ok', record, cached: false };
    } catch (err) {
      if (err instanceof TempFail) return { kind: 'tempfail', reason: err.message };
      return { kind: 'tempfail', reason: `internal error: ${err instanceof Error ? err.message : String(err)}` };
    }
  }

  flushCache(): void {
    this.cache?.clear();
  }
}
