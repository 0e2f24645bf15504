import type { Verifier } from '../crypt/verifier.js';
import type { CredentialCache } from './cache.js';
import { challengeKindFor, challengeMatches } from '../crypt/challenge.js';
import { Abandoned } from '../work-queue.js';
import { isLocked } from '../crypt/schemes.js';
import { TempFail } from '../errors.js';
import { Decoy } from './decoy.js';
import type { AuthenticateOptions, AuthRequest, Backend, LookupRequest, PasswordRecord, Result } from './types.js';

/** Whether an account exists, for userdb lookups: never its secret. */
export type AccountLookup = { readonly kind: 'found' } | { readonly kind: 'missing' } | { readonly kind: 'tempfail'; readonly reason: string };

export interface AuthenticatorOptions {
  readonly backend: Backend;
  readonly verifier: Verifier;
  readonly cache?: CredentialCache | undefined;
  /** saslauthd -r: the backend sees "login@realm" when the realm is not empty. */
  readonly combineRealm: boolean;
  readonly now?: () => number;
  /** Shared by the mechanisms of a chain; a lone authenticator keeps its own. */
  readonly decoy?: Decoy;
  /**
   * False: an unknown user is answered at once, with no decoy check. For a
   * mechanism with another after it in a chain: the last one charges the
   * single decoy check, so an unknown user costs one whatever the chain's length.
   */
  readonly decoyForUnknown?: boolean;
}

const DAY_MS = 86_400_000;

/** Only a success is ever answered at once: a failure owes its decoy check, its delay and its count. */
export type SuccessAtOnce = Result & { readonly kind: 'ok' };
const CACHED_SUCCESS: SuccessAtOnce = Object.freeze({ kind: 'ok', cached: true });

/**
 * What a cache entry of a stamped source is made under: the source's stamp
 * and the day, so that an account that expires at midnight does not live on in the cache.
 */
function stampOf(generation: string | undefined, nowMs: number): string {
  return `${generation ?? ''}|${Math.floor(nowMs / DAY_MS)}`;
}

type Lookup = () => Promise<PasswordRecord | undefined>;

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
  private readonly decoy: Decoy;
  private readonly decoyForUnknown: boolean;

  constructor(opts: AuthenticatorOptions) {
    this.backend = opts.backend;
    this.verifier = opts.verifier;
    this.cache = opts.cache;
    this.combineRealm = opts.combineRealm;
    this.now = opts.now ?? Date.now;
    this.decoy = opts.decoy ?? new Decoy();
    this.decoyForUnknown = opts.decoyForUnknown ?? true;
  }

  /** The login the backend sees, after realm combining. */
  effectiveLogin(req: AuthRequest): string {
    return this.combineRealm && req.realm !== '' ? `${req.login}@${req.realm}` : req.login;
  }

  async authenticate(original: AuthRequest, opts: AuthenticateOptions = {}): Promise<Result> {
    const login = this.effectiveLogin(original);
    const req: AuthRequest = login === original.login ? original : { ...original, login };
    // One lookup a request, shared by the challenge check and the password check that may follow it.
    let pending: Promise<PasswordRecord | undefined> | undefined;
    const lookup: Lookup = () => (pending ??= Promise.resolve(this.backend.lookup(req)).then((record) => {
      if (record) this.decoy.learn(record);
      return record;
    }));
    let result: Result;
    try {
      const challenged = req.challenge && req.challenge.length > 0 ? await this.challenged(req, lookup) : undefined;
      if (req.challengeKind) result = challenged ?? (await this.unanswered(lookup));
      else if (challenged) result = challenged;
      else if (this.backend.verify) result = await this.delegated(req, lookup, opts);
      else result = this.backend.generation ? await this.stamped(req, lookup, opts) : await this.revalidated(req, lookup, opts);
    } catch (err) {
      if (err instanceof TempFail) return { kind: 'tempfail', reason: err.message };
      if (err instanceof Abandoned) return { kind: 'tempfail', reason: err.message };
      return { kind: 'tempfail', reason: `internal error: ${err instanceof Error ? err.message : String(err)}` };
    }
    if (result.kind === 'ok') this.backend.recordLogin?.(req);
    return result;
  }

  /**
   * A cached success that needs no waiting: the source's stamp is local (a
   * stat of its files, generationIsLocal) or the entry is within the window
   * in which it answers alone. Undefined whenever anything would have to be
   * waited for, or on any doubt: authenticate() then decides as usual, so
   * this only ever answers what authenticate() would answer from the cache.
   * Only successes come from here; a mismatch is never answered from the cache.
   */
  answerAtOnce(original: AuthRequest, opts: AuthenticateOptions = {}): SuccessAtOnce | undefined {
    const b = this.backend;
    if (opts.needRecord || original.challengeKind || (original.challenge && original.challenge.length > 0)) return undefined;
    // Only the paths that consult the cache before the source (stamped, delegated); SQL looks the user up first.
    if (!b.verify && !b.generation) return undefined;
    const login = this.effectiveLogin(original);
    const req: AuthRequest = login === original.login ? original : { ...original, login };
    let success: SuccessAtOnce | undefined;
    try {
      success = this.answersAlone(req, opts) ? CACHED_SUCCESS : this.stampedAtOnce(req, opts);
    } catch {
      // The source's own error is for authenticate() to word and count.
      return undefined;
    }
    if (success) b.recordLogin?.(req);
    return success;
  }

  /**
   * stamped() without a wait: a cache hit under the files' current stamp,
   * else a source that can be read at once holding a secret that needs no
   * hash worker (sasldb's clear passwords), matched and within its policy.
   */
  private stampedAtOnce(req: AuthRequest, opts: AuthenticateOptions): SuccessAtOnce | undefined {
    const b = this.backend;
    if (b.generationIsLocal !== true || !b.generation) return undefined;
    const nowMs = this.now();
    let generation = '';
    if (this.cache) {
      const stamp = b.generation(req, { trusted: opts.trusted });
      if (typeof stamp === 'object') return undefined; // a promise after all: not at once
      generation = stampOf(stamp, nowMs);
      if (this.cache.hit(req.login, req.realm, req.service, req.password, generation)) return CACHED_SUCCESS;
    }
    // PAM decides itself, and takes its time.
    if (b.verify || !b.lookupAtOnce) return undefined;
    const record = b.lookupAtOnce(req)?.record;
    if (!record || isLocked(record.secret, record.secretIsPlaintext)) return undefined;
    this.decoy.learn(record);
    if (this.verifier.verifyAtOnce(req.password, record.secret, record.secretIsPlaintext) !== true) return undefined;
    // As stamped() concludes: the account's policy, then the entry stored. A refusal is for authenticate() to give.
    const result = this.conclude(req, record, true, Math.floor(nowMs / DAY_MS), generation, false);
    return result.kind === 'ok' ? result : undefined;
  }

  /**
   * A success recent enough to answer on its own, where the source allows
   * it (cacheAnswersAloneMs): the source is not asked at all. A mismatch is
   * never answered here.
   */
  private answersAlone(req: AuthRequest, opts: AuthenticateOptions): boolean {
    if (!this.cache || opts.needRecord) return false;
    const ms = this.backend.cacheAnswersAloneMs?.(req);
    return ms !== undefined && ms > 0 && this.cache.hitWithin(req.login, req.realm, req.service, req.password, ms);
  }

  /** Files: the cache entry carries the files' stat signature, and a hit skips the lookup altogether. */
  private async stamped(req: AuthRequest, lookup: Lookup, opts: AuthenticateOptions): Promise<Result> {
    if (this.answersAlone(req, opts)) return { kind: 'ok', cached: true };
    const nowMs = this.now();
    const today = Math.floor(nowMs / DAY_MS);
    // Without a cache nothing reads the stamp, so the backend is not asked for it (a stat per file).
    const generation = this.cache ? stampOf(await this.backend.generation?.(req, { signal: opts.signal, trusted: opts.trusted }), nowMs) : '';
    const hit = this.cache?.hit(req.login, req.realm, req.service, req.password, generation) ?? false;
    if (hit && !opts.needRecord) return { kind: 'ok', cached: true };
    const record = await lookup();
    if (hit && record) return { kind: 'ok', record, cached: true };
    if (!record) return this.unknownUser(req, opts);
    const matches = await this.check(req, record, opts);
    return this.conclude(req, record, matches, today, generation, false);
  }

  /**
   * The source decides (PAM): no secret comes back, so no hash is checked
   * here and no decoy is needed (the stack times its own refusals). The
   * cache entry carries the source's own stamp; a front door that needs
   * the account (uid, home) gets it from lookup() after the source said yes.
   */
  private async delegated(req: AuthRequest, lookup: Lookup, opts: AuthenticateOptions): Promise<Result> {
    if (this.answersAlone(req, opts)) return { kind: 'ok', cached: true };
    const generation = this.cache ? stampOf(await this.backend.generation?.(req, { signal: opts.signal, trusted: opts.trusted }), this.now()) : '';
    const hit = this.cache?.hit(req.login, req.realm, req.service, req.password, generation) ?? false;
    if (!hit) {
      const verdict = await this.backend.verify!(req, req.password, { signal: opts.signal, trusted: opts.trusted });
      if (verdict.kind === 'fail') return verdict;
    }
    const record = opts.needRecord ? await lookup() : undefined;
    if (opts.needRecord && !record) return { kind: 'fail', code: 'no_such_user', reason: `${this.backend.mech} accepted the password, but there is no such system account` };
    if (!hit) this.cache?.store(req.login, req.realm, req.service, req.password, generation, this.backend.cacheLifetimeMs?.(req));
    return record ? { kind: 'ok', record, cached: hit } : { kind: 'ok', cached: hit };
  }

  /**
   * No change signal (SQL): every request looks the user up, so a changed
   * password or flag counts at once; a hit only spares the hash computation.
   * When the lookup fails for a temporary reason, a recent success answers.
   */
  private async revalidated(req: AuthRequest, lookup: Lookup, opts: AuthenticateOptions): Promise<Result> {
    const today = Math.floor(this.now() / DAY_MS);
    let record;
    try {
      record = await lookup();
    } catch (err) {
      if (err instanceof TempFail && this.cache?.hitStale(req.login, req.realm, req.service, req.password)) {
        return { kind: 'ok', cached: true, stale: true };
      }
      throw err;
    }
    if (!record) return this.unknownUser(req, opts);
    const generation = this.cache ? this.cache.fingerprint(`${record.secret}\0${record.secretIsPlaintext}\0${today}`) : '';
    const hit = this.cache?.hit(req.login, req.realm, req.service, req.password, generation) ?? false;
    const matches = hit || (await this.check(req, record, opts));
    return this.conclude(req, record, matches, today, generation, hit);
  }

  /**
   * The password against the record. A record with no hash to check (a
   * locked or disabled account) never matches, but still costs a check
   * against the decoy: otherwise its quick refusal would set it apart.
   */
  private async check(req: AuthRequest, record: PasswordRecord, opts: AuthenticateOptions): Promise<boolean> {
    if (!isLocked(record.secret, record.secretIsPlaintext)) return this.verifier.verify(req.password, record.secret, record.secretIsPlaintext, opts.signal, opts.trusted);
    await this.decoy.spend(this.verifier, req.password, opts);
    return false;
  }

  /**
   * No such user, answered only after the password was checked against a
   * decoy of the same scheme and cost: an unknown login takes as long as a
   * wrong password, so timing does not tell which accounts exist. In a
   * chain only the last mechanism pays it (see decoyForUnknown).
   */
  private async unknownUser(req: AuthRequest, opts: AuthenticateOptions): Promise<Result> {
    if (this.decoyForUnknown) await this.decoy.spend(this.verifier, req.password, opts);
    return { kind: 'fail', code: 'no_such_user', reason: 'no such user' };
  }

  /**
   * APOP / CRAM-MD5: answered from the clear password when the source keeps
   * one. Undefined (go on with an ordinary check) when it keeps none, the
   * service takes no challenge, or the password is not the response: qmail-popup
   * sends a timestamp with USER/PASS logins too. Never cached: each challenge is new.
   */
  private async challenged(req: AuthRequest, lookup: Lookup): Promise<Result | undefined> {
    const kind = req.challengeKind ?? challengeKindFor(req.service);
    if (!kind) return undefined;
    const record = await lookup();
    const clear = record?.plaintext ?? (record?.secretIsPlaintext ? record.secret : undefined);
    if (!record || clear === undefined) return undefined;
    if (!challengeMatches(kind, req.challenge!, Buffer.from(clear, 'latin1'), req.password)) return undefined;
    const refused = record.policy?.(Math.floor(this.now() / DAY_MS));
    if (refused) return { kind: 'fail', code: refused, reason: refused.replace('_', ' ') };
    return { kind: 'ok', record, cached: false };
  }

  /**
   * A challenge-only login whose response did not match, or whose account
   * keeps no clear password. No slow hash is computed on any path here (an
   * HMAC takes microseconds), so there is no decoy to time against.
   */
  private async unanswered(lookup: Lookup): Promise<Result> {
    const record = await lookup();
    if (!record) return { kind: 'fail', code: 'no_such_user', reason: 'no such user' };
    return { kind: 'fail', code: 'bad_password', reason: 'challenge response mismatch' };
  }

  private conclude(req: AuthRequest, record: PasswordRecord, matches: boolean, today: number, generation: string, hit: boolean): Result {
    if (!matches) return { kind: 'fail', code: 'bad_password', reason: 'password mismatch' };
    const refused = record.policy?.(today);
    if (refused) return { kind: 'fail', code: refused, reason: refused.replace('_', ' ') };
    // A hit is not stored again: the entry keeps its age, so the window in which it may answer alone does not grow.
    if (!hit) this.cache?.store(req.login, req.realm, req.service, req.password, generation);
    return { kind: 'ok', record, cached: hit };
  }

  /**
   * Asks the backend whether the login names an account, without a
   * password: no cache (it holds passwords, not existence) and no account
   * policy (an expired account still has a mailbox).
   */
  async findAccount(original: LookupRequest): Promise<AccountLookup> {
    const login = this.combineRealm && original.realm !== '' ? `${original.login}@${original.realm}` : original.login;
    try {
      const record = await this.backend.lookup(login === original.login ? original : { ...original, login });
      return record ? { kind: 'found' } : { kind: 'missing' };
    } catch (err) {
      return { kind: 'tempfail', reason: err instanceof Error ? err.message : String(err) };
    }
  }

  flushCache(): void {
    this.cache?.clear();
  }
}
