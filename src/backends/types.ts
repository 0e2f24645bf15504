/**
 * The contract every password source fulfils. A backend only finds a user:
 * it returns a PasswordRecord, undefined for "no such user", or throws
 * TempFail. It never compares passwords and knows no front door.
 */

/** What a backend is asked: the login as the front door received it (latin1, byte for byte). */
export interface LookupRequest {
  readonly login: string;
  readonly realm: string;
  readonly service: string;
  /** Client address (canonical form), when the front door knows it. */
  readonly clientIp?: string;
  /**
   * The front door carries no realm of its own (checkpassword): a source
   * whose keys hold a realm may find it in the login (sasldb's user@realm).
   */
  readonly realmInLogin?: boolean;
}

/** Why a login was refused; each front door renders these in its own words. */
export type FailCode =
  | 'no_such_user'
  | 'bad_password'
  | 'account_expired'
  | 'password_expired'
  | 'service_disabled';

/** What a backend knows about a user; it never decides whether a password matches. */
export interface PasswordRecord {
  readonly user: string;
  /** The virtual domain or realm, for sources that host several (vpopmail, sasldb). */
  readonly domain?: string;
  /** A crypt(3) hash, optionally with a {SCHEME} prefix, or a plaintext password. */
  readonly secret: string;
  readonly secretIsPlaintext: boolean;
  /** The clear password, where the source keeps one besides the hash: challenge mechanisms (APOP, CRAM-MD5) need it. */
  readonly plaintext?: string;
  /**
   * A system account runs as its own uid and gid; a virtual one (sasldb,
   * vpopmail) has none and runs as the configured virtual user.
   */
  readonly system: boolean;
  readonly uid?: number;
  readonly gid?: number;
  /** The account's own home; a virtual account without one gets virtual_home. */
  readonly home?: string;
  readonly shell?: string;
  /** Variables the next program of a checkpassword login gets (vpopmail's VPOPUSER). */
  readonly env?: Readonly<Record<string, string>>;
  /** False when the source says this account never opens relay (vpopmail's NO_RELAY). */
  readonly mayRelay: boolean;
  /** Checked after the password matches, so a refusal never reveals more than a wrong password would. */
  readonly policy?: (nowDays: number) => FailCode | undefined;
}

/** What a source that checks passwords itself (PAM) says; it throws TempFail when it cannot say. */
export type Verdict = { readonly kind: 'ok' } | { readonly kind: 'fail'; readonly code: FailCode; readonly reason: string };

export interface VerifyOptions {
  /** Fires when the client has gone away: a check still waiting for its turn is dropped. */
  readonly signal?: AbortSignal | undefined;
  /** Root or a trusted user asks: its check goes first. */
  readonly trusted?: boolean | undefined;
}

export interface Backend {
  readonly mech: string;
  /**
   * Present on sources that check the password themselves and never hand
   * out a secret (PAM). lookup() then only finds the account (uid, home)
   * for the front doors that need one.
   */
  verify?(req: LookupRequest, password: Buffer, opts: VerifyOptions): Promise<Verdict>;
  /** Returns the user's record, undefined for "no such user", or throws TempFail. */
  lookup(req: LookupRequest): PasswordRecord | undefined | Promise<PasswordRecord | undefined>;
  /**
   * lookup()'s answer when it can be had without waiting (the file read
   * and settled); undefined when only lookup() can answer now.
   */
  lookupAtOnce?(req: LookupRequest): { readonly record: PasswordRecord | undefined } | undefined;
  /**
   * A value that changes whenever the backing data changes; cache entries made
   * under another value are dropped. A backend without it (SQL: no cheap change
   * signal) is asked on every request, and the cache then only spares the hash
   * computation, or answers alone while the backend is unreachable. A source
   * that must be asked for it (LDAP: the entry's change stamp) returns a
   * promise, and throws TempFail when it cannot be asked.
   */
  generation?(req: LookupRequest, opts?: VerifyOptions): string | undefined | Promise<string | undefined>;
  /**
   * True when generation() answers from this host alone and at once (a stat
   * of the files, never a promise): a cached success can then be answered in
   * the same turn the request arrived (Authenticator.answerAtOnce).
   */
  readonly generationIsLocal?: boolean;
  /**
   * How long a cached success may answer for this request at most, when
   * generation() cannot see every change (a PAM stack with pam_ldap):
   * undefined for no limit beyond the cache's own.
   */
  cacheLifetimeMs?(req: LookupRequest): number | undefined;
  /**
   * How long after it was stored a cached success may answer without the
   * source being asked at all, not even for generation(): undefined or 0
   * for never (LDAP's ldap_cache_ttl, the admin's trade of freshness for
   * load on the directory).
   */
  cacheAnswersAloneMs?(req: LookupRequest): number | undefined;
  /** Told of each successful login, without being waited for (vpopmail's lastauth). */
  recordLogin?(req: LookupRequest): void;
  /** Called once at start: throws (TempFail) when the source cannot serve, returns a line for the log. */
  check?(): string;
  close?(): Promise<void> | void;
}
