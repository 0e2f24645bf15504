import type { FailCode, LookupRequest, PasswordRecord } from '../backends/types.js';
import type { ChallengeKind } from '../crypt/challenge.js';

export type { Backend, FailCode, LookupRequest, PasswordRecord } from '../backends/types.js';

/**
 * The one request shape every front door produces. Fields are raw bytes as
 * they arrived (decoded 1:1 as latin1) so that a user name is matched byte for
 * byte against the password files, whatever its encoding.
 */
export interface AuthRequest extends LookupRequest {
  readonly password: Buffer;
  /**
   * checkpassword's third field (the APOP or CRAM-MD5 challenge): when set and
   * the source keeps a clear password, the password may be the response.
   */
  readonly challenge?: Buffer;
  /**
   * The login's own mechanism is this challenge (Dovecot's CRAM-MD5), whatever
   * the service: the password is only ever a response, and one that does not
   * match is a refusal, never tried as a password.
   */
  readonly challengeKind?: ChallengeKind;
  /** A trusted client asked that this request raise no penalty (Dovecot's no-penalty flag). */
  readonly noPenalty?: boolean;
  /**
   * The uid of a local peer that is not trusted, whose address claims are
   * therefore not believed: the penalty counts its failures under this.
   */
  readonly localPeer?: number;
}

export interface AuthenticateOptions {
  /** The front door needs the account (home, uid): a cache hit still looks it up. */
  readonly needRecord?: boolean;
  /** Fires when the client has gone away: a verification still waiting for its turn is dropped. */
  readonly signal?: AbortSignal;
  /** The request comes from root or a trusted user: its hash check goes before others'. */
  readonly trusted?: boolean;
}

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
