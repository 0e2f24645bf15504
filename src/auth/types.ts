/**
 * The one request shape every front door produces. Fields are raw bytes as
 * they arrived (decoded 1:1 as latin1) so that a user name is matched byte for
 * byte against the password files, whatever its encoding.
 */
export interface AuthRequest {
  readonly login: string;
  readonly password: Buffer;
  readonly service: string;
  readonly realm: string;
  /** Client address without port, when the front door knows it. */
  readonly clientIp?: string;
  /**
   * checkpassword's third field (the APOP or CRAM-MD5 challenge): when set and
   * the source keeps a clear password, the password may be the response.
   */
  readonly challenge?: Buffer;
}

export interface AuthenticateOptions {
  /** The front door needs the account (home, uid): a cache hit still looks it up. */
  readonly needRecord?: boolean;
  /** Fires when the client has gone away: a verification still waiting for its turn is dropped. */
  readonly signal?: AbortSignal;
}

/** Why a login was refused; each front door renders these in its own words. */
export type FailCode =
  | 'no_such_user'
  | 'bad_password'
  | 'account_expired'
  | 'password_expired'
  | 'service_disabled';

export type Result =
  | {
      readonly kind: 'ok';
      readonly record?: PasswordRecord;
      readonly cached: boolean;
      /** Answered from the cache because the backend could not be asked. */
      readonly stale?: boolean;
    }
  | { readonly kind: 'fail'; readonly code: FailCode; readonly reason: string }
  | { readonly kind: 'tempfail'; readonly reason: string };

/** What a backend knows about a user; it never decides whether a password matches. */
export interface PasswordRecord {
  readonly user: string;
  /** The virtual domain, for backends that host several (vpopmail). */
  readonly domain?: string;
  /** A crypt(3) hash, optionally with a {SCHEME} prefix, or a plaintext password. */
  readonly secret: string;
  readonly secretIsPlaintext: boolean;
  /** The clear password, where the source keeps one besides the hash: challenge mechanisms (APOP, CRAM-MD5) need it. */
  readonly plaintext?: string;
  readonly uid?: number;
  readonly gid?: number;
  readonly home?: string;
  readonly shell?: string;
  /** Checked after the password matches, so a refusal never reveals more than a wrong password would. */
  readonly policy?: (nowDays: number) => FailCode | undefined;
  /** Backend-specific flag bits (vpopmail pw_gid), carried for later stages. */
  readonly flags?: number;
}

/** A failure that says nothing about the password: the answer must be "try again". */
export class TempFail extends Error {
  override readonly name = 'TempFail';
}

export interface Backend {
  readonly mech: string;
  /** Replies carry no reason text (sasldb answers a bare NO, as saslauthd does). */
  readonly terseReplies: boolean;
  /** Returns the user's record, undefined for "no such user", or throws TempFail. */
  lookup(req: AuthRequest): PasswordRecord | undefined | Promise<PasswordRecord | undefined>;
  /**
   * A value that changes whenever the backing data changes; cache entries made
   * under another value are dropped. A backend without it (SQL: no cheap change
   * signal) is asked on every request, and the cache then only spares the hash
   * computation, or answers alone while the backend is unreachable.
   */
  generation?(): string | undefined;
  /** Told of each successful login, without being waited for (vpopmail's lastauth). */
  recordLogin?(req: AuthRequest): void;
  /** Called once at start: throws (TempFail) when the source cannot serve, returns a line for the log. */
  check?(): string;
  close?(): Promise<void> | void;
}
