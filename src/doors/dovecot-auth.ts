import type { AuthRequest, FailCode, Result } from '../auth/types.js';
import { canonicalIp } from '../net/address.js';
import { encodeFail, encodeOk, type AuthCommand } from '../protocol/dovecot-auth.js';

/** Refusals told to the client, who proved the password to get them; the rest say nothing. */
const TOLD_AFTER_PASSWORD: Partial<Record<FailCode, string>> = {
  account_expired: 'Account expired',
  password_expired: 'Password expired',
  service_disabled: 'Service disabled for this account',
};
const TEMPFAIL_REASON = 'Temporary failure, try again later';

/**
 * Dovecot's auth socket: a login from PLAIN or LOGIN becomes the
 * AuthRequest. Dovecot has no realm field: a source keyed by realm finds it
 * in the login (`user@domain`), as on the checkpassword socket. The client
 * address (`rip=`) is believed only from a trusted peer (the MTA, root):
 * anyone else able to reach the socket could name any address, to open
 * relay for it or to get it banned.
 */
export function toAuthRequest(login: Buffer, password: Buffer, auth: AuthCommand, trusted = true, challenge?: Buffer): AuthRequest {
  const plain: AuthRequest = { login: login.toString('latin1'), password, service: auth.service ?? '', realm: '', realmInLogin: true };
  // CRAM-MD5: the "password" is the digest, checked against this challenge alone.
  const base: AuthRequest = challenge ? { ...plain, challenge, challengeKind: 'cram-md5' } : plain;
  const ip = trusted && auth.rip !== undefined ? canonicalIp(auth.rip) : undefined;
  // Only a trusted client may exempt a request from the penalty (Dovecot's own login processes set it for their internal checks).
  const noPenalty = trusted && auth.params.has('no-penalty');
  const withIp = ip ? { ...base, clientIp: ip } : base;
  return noPenalty ? { ...withIp, noPenalty } : withIp;
}

/**
 * The reply for a checked login. Postfix passes `reason` on to the mail
 * client, on the open internet: "no such user" against "wrong password"
 * would tell anyone which logins exist, so those refusals carry none; an
 * expired account is said only to a trusted peer, as the other doors do.
 * A temporary failure is marked `temp`, never a plain FAIL that the client
 * would count as a wrong password.
 */
export function reply(id: string, login: string, result: Result, trusted = true): Buffer {
  switch (result.kind) {
    case 'ok':
      return encodeOk(id, login);
    case 'fail':
      return encodeFail(id, { user: login, reason: trusted ? TOLD_AFTER_PASSWORD[result.code] : undefined });
    case 'tempfail':
      return encodeFail(id, { user: login, reason: TEMPFAIL_REASON, temp: true });
  }
}

/** The reply to a request refused before any check (bad base64, empty login, another authzid). */
export function refusal(id: string, login: Buffer | undefined): Buffer {
  return encodeFail(id, { user: login?.toString('latin1') });
}
