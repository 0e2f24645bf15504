import type { Response } from '../../protocol/imap.js';
import type { FailCode } from '../types.js';

/** What LOGIN's tagged answer means for the login. */
export type LoginOutcome =
  | { readonly kind: 'ok' }
  | { readonly kind: 'fail'; readonly code: FailCode; readonly reason: string }
  | { readonly kind: 'tempfail'; readonly reason: string };

/**
 * NO codes (RFC 5530) that say nothing about the password: the server
 * could not check it now (UNAVAILABLE: its own user database is down,
 * SERVERBUG, LIMIT, INUSE), or refuses LOGIN on this connection whatever
 * the password (PRIVACYREQUIRED: it wants TLS). saslauthd reads every NO
 * as a wrong password; a client told that would give up or be locked out
 * for what is an outage or a setting.
 */
const NOT_ABOUT_THE_PASSWORD = new Set(['UNAVAILABLE', 'SERVERBUG', 'LIMIT', 'INUSE', 'PRIVACYREQUIRED', 'CORRUPTION']);

/** A server's text, kept short for the log line (which escapes it). */
function said(r: Extract<Response, { kind: 'tagged' }>): string {
  // Brackets would be escaped in the log line: the code goes in parentheses.
  const code = r.code ? `(${r.code.name}${r.code.args ? ` ${r.code.args}` : ''}) ` : '';
  const text = `${r.status} ${code}${r.text}`;
  return text.length > 200 ? `${text.slice(0, 200)}...` : text;
}

/**
 * IMAP's NO does not tell an unknown user from a wrong password, so every
 * other NO is a wrong password, final in a chain as saslauthd takes it
 * (only "no such user" moves a chain on). BAD means the server did not
 * understand the command: nothing is known about the password.
 */
export function loginOutcome(r: Extract<Response, { kind: 'tagged' }>): LoginOutcome {
  if (r.status === 'OK') return { kind: 'ok' };
  if (r.status === 'BAD') return { kind: 'tempfail', reason: `the IMAP server did not take the LOGIN command: ${said(r)}` };
  const code = r.code?.name;
  if (code !== undefined && NOT_ABOUT_THE_PASSWORD.has(code)) return { kind: 'tempfail', reason: `the IMAP server could not check the password: ${said(r)}` };
  const failCode: FailCode = code === 'EXPIRED' ? 'password_expired' : code === 'CONTACTADMIN' ? 'service_disabled' : 'bad_password';
  return { kind: 'fail', code: failCode, reason: `remote server rejected the credentials: ${said(r)}` };
}
