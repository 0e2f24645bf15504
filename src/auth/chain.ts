import type { Verifier } from '../crypt/verifier.js';
import { Authenticator, type AccountLookup, type SuccessAtOnce } from './authenticator.js';
import type { CredentialCache } from './cache.js';
import { Decoy } from './decoy.js';
import type { AuthenticateOptions, AuthRequest, Backend, LookupRequest, Result } from './types.js';

export interface ChainOptions {
  /** In the order asked: -a shadow,sasldb asks shadow first. */
  readonly backends: readonly Backend[];
  readonly verifier: Verifier;
  readonly cache?: CredentialCache | undefined;
  readonly combineRealm: boolean;
  readonly now?: () => number;
}

/** A result and the mechanism that gave it: the log line names it, and the front door answers in its words. */
export type Decided = Result & { readonly mech: string };
export type AccountFound = AccountLookup & { readonly mech: string };
export type DecidedAtOnce = SuccessAtOnce & { readonly mech: string };

/**
 * Several mechanisms in order (-a shadow,sasldb): the first that knows the
 * user decides. Only "no such user" moves on; a wrong password, a refused
 * account and a temporary failure are final, the last because the
 * mechanism that failed might know the user. A single mechanism is a
 * chain of one and behaves exactly as its Authenticator.
 */
export class AuthChain {
  private readonly members: readonly Authenticator[];
  private readonly cache: CredentialCache | undefined;
  /** For lines that come before any mechanism has decided: "shadow,sasldb". */
  readonly name: string;

  constructor(opts: ChainOptions) {
    if (opts.backends.length === 0) throw new Error('a chain needs at least one mechanism');
    // One decoy, learnt from every mechanism's accounts and spent once, by the last: an
    // unknown user costs one check, and a user the second mechanism knows no extra one.
    const decoy = new Decoy();
    const last = opts.backends.length - 1;
    this.members = opts.backends.map(
      (backend, i) =>
        new Authenticator({ backend, verifier: opts.verifier, cache: opts.cache?.scoped(backend.mech), combineRealm: opts.combineRealm, now: opts.now, decoy, decoyForUnknown: i === last }),
    );
    this.cache = opts.cache;
    this.name = opts.backends.map((b) => b.mech).join(',');
  }

  get backends(): readonly Backend[] {
    return this.members.map((m) => m.backend);
  }

  /** The login the mechanisms see, after realm combining (the same for all). */
  effectiveLogin(req: AuthRequest): string {
    return this.members[0]!.effectiveLogin(req);
  }

  /**
   * Every mechanism is asked in order on every request, the cache included
   * (each keeps its own entries): a user the second mechanism answered from
   * its cache goes to the first as soon as the first knows them.
   */
  async authenticate(req: AuthRequest, opts: AuthenticateOptions = {}): Promise<Decided> {
    for (let i = 0; ; i++) {
      const member = this.members[i]!;
      const result = await member.authenticate(req, opts);
      if (i === this.members.length - 1 || !isUnknown(result)) return { ...result, mech: member.backend.mech };
    }
  }

  /**
   * A success the first mechanism gives without waiting
   * (Authenticator.answerAtOnce). Only the first: a later mechanism's
   * entry counts only after those before it said they do not know the user.
   */
  answerAtOnce(req: AuthRequest, opts: AuthenticateOptions = {}): DecidedAtOnce | undefined {
    const first = this.members[0]!;
    const result = first.answerAtOnce(req, opts);
    return result && { ...result, mech: first.backend.mech };
  }

  /** Userdb lookups go down the chain as logins do: found or a temporary failure stops it. */
  async findAccount(req: LookupRequest): Promise<AccountFound> {
    for (let i = 0; ; i++) {
      const member = this.members[i]!;
      const found = await member.findAccount(req);
      if (i === this.members.length - 1 || found.kind !== 'missing') return { ...found, mech: member.backend.mech };
    }
  }

  /** Each source's start-up line; throws (TempFail) when one cannot serve. */
  check(): string[] {
    return this.backends.flatMap((b) => b.check?.() ?? []);
  }

  /** Entries the cache holds over all mechanisms; 0 without a cache. */
  get cacheEntries(): number {
    return this.cache?.size ?? 0;
  }

  flushCache(): void {
    this.cache?.clear();
  }

  /** The entries of one login, as the backends see it (with -r, login@realm). */
  forgetLogin(login: string, realm?: string): number {
    return this.cache?.forgetLogin(login, realm) ?? 0;
  }

  async close(): Promise<void> {
    await Promise.all(this.backends.map((b) => b.close?.()));
  }
}

/** Whatever produced it (a lookup that found nothing, a source that checks passwords itself), it moves the chain on. */
function isUnknown(r: Result): boolean {
  return r.kind === 'fail' && r.code === 'no_such_user';
}
