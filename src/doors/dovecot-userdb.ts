import type { AccountLookup } from '../auth/authenticator.js';
import type { LookupRequest } from '../auth/types.js';
import { encodeNotFound, encodeUser, encodeUserdbFail, type UserCommand } from '../protocol/dovecot-userdb.js';

/**
 * Dovecot's userdb socket: `USER` becomes a lookup. As on the auth socket,
 * Dovecot has no realm field, so a source keyed by realm finds it in the
 * login (`user@domain`).
 */
export function toLookupRequest(cmd: UserCommand): LookupRequest {
  return { login: cmd.user, realm: '', service: cmd.service ?? '', realmInLogin: true };
}

/** The answer names the account and nothing else: what the backend keeps (the hash above all) stays here. */
export function reply(cmd: UserCommand, found: AccountLookup): Buffer {
  switch (found.kind) {
    case 'found':
      return encodeUser(cmd.id, cmd.user);
    case 'missing':
      return encodeNotFound(cmd.id);
    case 'tempfail':
      return encodeUserdbFail(cmd.id);
  }
}
