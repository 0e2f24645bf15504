import type { AuthRequest, PasswordRecord, Result } from '../auth/types.js';
import { canonicalIp } from '../net/address.js';
import type { DoorAccount, DoorReply, DoorRequest } from '../protocol/checkpassword-door.js';

export { DOOR_CODEC as codec, encodeDoorReply as encode } from '../protocol/checkpassword-door.js';

/**
 * The daemon's socket for the checkpassword program. Its logins come
 * without a realm (qmail's interface has none): a source keyed by realm
 * finds it in the login. The address was checked by the program, and is
 * checked again here, where it crosses into the daemon.
 */
export function toAuthRequest(r: DoorRequest, trusted = true): AuthRequest {
  const base: AuthRequest = {
    login: r.login.toString('latin1'),
    password: r.password,
    service: r.service.toString('latin1'),
    realm: r.realm.toString('latin1'),
    realmInLogin: true,
  };
  // The address and the APOP/CRAM-MD5 challenge are believed from the program run by qmail or
  // Dovecot (root, a trusted user) only: from anyone else they would open relay for any address,
  // or replay a sniffed challenge response.
  if (!trusted) return base;
  const ip = canonicalIp(r.clientAddr.toString('latin1'));
  const withChallenge = { ...base, challenge: r.timestamp };
  return ip ? { ...withChallenge, clientIp: ip } : withChallenge;
}

/** What the next program needs of a checked account. */
function accountOf(record: PasswordRecord): DoorAccount {
  return {
    user: record.user,
    domain: record.domain ?? '',
    system: record.system,
    uid: record.uid,
    gid: record.gid,
    home: record.home ?? '',
    shell: record.shell ?? '',
    mayRelay: record.mayRelay,
    env: record.env ?? {},
  };
}

/**
 * The one mapping of a result to the program's reply, whether the daemon or
 * the program itself checked. Why a login failed is told to a trusted peer
 * only (it tells which logins exist).
 */
export function replyOf(result: Result, trusted = true): DoorReply {
  if (result.kind === 'tempfail') return { kind: 'temp', reason: result.reason };
  if (result.kind === 'fail') return { kind: 'no', reason: trusted ? result.reason : 'login refused' };
  // A success answered from the cache while the source is down has no account to give: try again.
  if (!result.record) return { kind: 'temp', reason: 'the account cannot be read now' };
  return { kind: 'ok', account: accountOf(result.record) };
}
