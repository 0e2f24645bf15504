import type { FailCode } from '../types.js';
import type { PamOutcome } from './libpam.js';

/** Linux-PAM's return codes (security/_pam_types.h) that decide something here. */
export const PAM = {
  SUCCESS: 0,
  PERM_DENIED: 6,
  AUTH_ERR: 7,
  CRED_INSUFFICIENT: 8,
  AUTHINFO_UNAVAIL: 9,
  USER_UNKNOWN: 10,
  MAXTRIES: 11,
  NEW_AUTHTOK_REQD: 12,
  ACCT_EXPIRED: 13,
  CRED_EXPIRED: 16,
  AUTHTOK_EXPIRED: 27,
} as const;

export type PamVerdict =
  | { readonly kind: 'ok' }
  | { readonly kind: 'fail'; readonly code: FailCode; readonly reason: string }
  | { readonly kind: 'tempfail'; readonly reason: string };

/**
 * Answers about the credentials themselves; every other code is the stack
 * failing, not the user. Whatever a module says at this step, the password
 * was not accepted: saslauthd too answers "auth error" for all of them.
 * Only "user unknown" is told apart, so a next mechanism may be asked.
 */
const REFUSED_AT_AUTHENTICATE: ReadonlyMap<number, FailCode> = new Map<number, FailCode>([
  [PAM.USER_UNKNOWN, 'no_such_user'],
  ...[PAM.AUTH_ERR, PAM.CRED_INSUFFICIENT, PAM.MAXTRIES, PAM.PERM_DENIED, PAM.ACCT_EXPIRED, PAM.CRED_EXPIRED, PAM.AUTHTOK_EXPIRED, PAM.NEW_AUTHTOK_REQD].map((rc) => [rc, 'bad_password'] as [number, FailCode]),
]);

/**
 * Past a right password, account management refuses for the account's
 * sake; "user unknown" there (an auth module that knows the user, an
 * account module that does not) is still a refusal, never "no such user":
 * a next mechanism must not be asked about a login whose password matched.
 */
const REFUSED_AT_ACCT: ReadonlyMap<number, FailCode> = new Map<number, FailCode>([
  [PAM.ACCT_EXPIRED, 'account_expired'],
  [PAM.NEW_AUTHTOK_REQD, 'password_expired'],
  [PAM.AUTHTOK_EXPIRED, 'password_expired'],
  [PAM.CRED_EXPIRED, 'password_expired'],
  [PAM.PERM_DENIED, 'service_disabled'],
  [PAM.AUTH_ERR, 'service_disabled'],
  [PAM.USER_UNKNOWN, 'service_disabled'],
]);

/**
 * What a transaction means for the login. A module that could not decide
 * (PAM_AUTHINFO_UNAVAIL, PAM_SYSTEM_ERR, a module missing from the stack,
 * a failed pam_start) is a temporary failure: telling the MTA "wrong
 * password" for it would bounce a user whose directory is down.
 */
export function verdictOf(o: PamOutcome): PamVerdict {
  const why = `${o.stage}: ${o.text} (${o.rc})`;
  if (o.stage === 'done' && o.rc === PAM.SUCCESS) return { kind: 'ok' };
  const refused = o.stage === 'authenticate' ? REFUSED_AT_AUTHENTICATE.get(o.rc) : o.stage === 'acct_mgmt' ? REFUSED_AT_ACCT.get(o.rc) : undefined;
  return refused ? { kind: 'fail', code: refused, reason: `pam_${why}` } : { kind: 'tempfail', reason: `pam_${why}` };
}
