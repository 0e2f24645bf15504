import type { AuthRequest, Result } from '../auth/types.js';
import { canonicalIp } from '../net/address.js';
import { clientAddrText, encodeReply, REPLY_BARE_NO, REPLY_FAIL, REPLY_FAIL_PAM, REPLY_FAIL_RIMAP, REPLY_OK_RIMAP, REPLY_TEMPFAIL, type SaslauthdRequest } from '../protocol/saslauthd.js';

export { SASLAUTHD_CODEC as codec } from '../protocol/saslauthd.js';

/**
 * saslauthd's mux socket: the fields as they arrived become the
 * AuthRequest, the client address (from `ip;port`) checked and put in its
 * one spelling here, once. The socket is open to every local user (0777,
 * as saslauthd's), so the address is believed only from a trusted peer (the
 * MTA, root): anyone else could name any address to open relay for it or
 * to get it banned.
 */
export function toAuthRequest(r: SaslauthdRequest, trusted = true): AuthRequest {
  const ip = trusted ? canonicalIp(clientAddrText(r.clientAddr) ?? '') : undefined;
  const base = { login: r.login.toString('latin1'), password: r.password, service: r.service.toString('latin1'), realm: r.realm.toString('latin1') };
  return ip ? { ...base, clientIp: ip } : base;
}

/** saslauthd's mechanisms whose refusals carry no reason: sasldb and ldap answer a bare NO. */
const BARE_NO = new Set(['sasldb', 'ldap']);

/**
 * The reply saslauthd would give for this result under mechanism `mech`. A
 * peer that is not trusted learns no reason: "no such user" against "wrong
 * password" would tell it which logins exist.
 */
export function reply(result: Result, mech: string, trusted = true): Buffer {
  switch (result.kind) {
    case 'ok':
      return encoded(mech === 'rimap' && !result.cached ? REPLY_OK_RIMAP : 'OK');
    case 'fail':
      if (BARE_NO.has(mech) || !trusted) return encoded(REPLY_BARE_NO);
      if (mech === 'rimap') return encoded(REPLY_FAIL_RIMAP);
      return encoded((mech === 'pam' ? REPLY_FAIL_PAM : REPLY_FAIL)[result.code]);
    case 'tempfail':
      return encoded(REPLY_TEMPFAIL);
  }
}

/** The replies are a handful of fixed texts: each is encoded once and its bytes are only ever written. */
const encodedReplies = new Map<string, Buffer>();
function encoded(text: string): Buffer {
  let bytes = encodedReplies.get(text);
  if (bytes === undefined) encodedReplies.set(text, (bytes = encodeReply(text)));
  return bytes;
}
