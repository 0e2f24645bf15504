import { encodeCounted, readCounted } from './counted.js';

/**
 * The saslauthd wire format: counted strings (2-byte big-endian length, then
 * bytes) for login, password, service, realm and, from newer clients, the
 * client address "ip;port". The reply is one counted string.
 */
export const MAX_FIELD = 256;
/** 5 fields of at most MAX_FIELD bytes plus their length prefixes. */
export const MAX_REQUEST_BYTES = 5 * (MAX_FIELD + 2);

export interface SaslauthdRequest {
  readonly login: Buffer;
  readonly password: Buffer;
  readonly service: Buffer;
  readonly realm: Buffer;
  /** The raw 5th field, when the client sent one. */
  readonly clientAddr?: Buffer;
}

export type Decoded =
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'request'; readonly request: SaslauthdRequest }
  /** Answer with `reply` and close: the request can never become valid. */
  | { readonly kind: 'reject'; readonly reply: string; readonly why: string };

export const REPLY_FIELD_TOO_LONG = 'NO ';
export const REPLY_NULL_LOGIN = 'NO NULL login received';
export const REPLY_NULL_PASSWORD = 'NO NULL password received';
export const REPLY_MALFORMED = 'NO Malformed request';

/**
 * Decodes what has arrived so far. A 5th field is expected only when bytes
 * beyond the 4th are already in `buf`: clients write a request in one go, and
 * a 2.1.28 client that sends four fields must not be kept waiting.
 */
export function decodeRequest(buf: Buffer): Decoded {
  const r = readCounted(buf, 5, MAX_FIELD, 4);
  if (r.kind === 'incomplete') return r;
  if (r.kind === 'too-long') return { kind: 'reject', reply: REPLY_FIELD_TOO_LONG, why: `field ${r.field} is ${r.length} bytes, over ${MAX_FIELD}` };
  const fields = r.fields;
  const [login, password, service, realm, clientAddr] = fields as [Buffer, Buffer, Buffer, Buffer, Buffer | undefined];
  for (const f of fields) {
    if (f.includes(0)) return { kind: 'reject', reply: REPLY_MALFORMED, why: 'NUL byte inside a field' };
  }
  if (login.length === 0) return { kind: 'reject', reply: REPLY_NULL_LOGIN, why: 'empty login' };
  if (password.length === 0) return { kind: 'reject', reply: REPLY_NULL_PASSWORD, why: 'empty password' };
  const request: SaslauthdRequest = clientAddr === undefined ? { login, password, service, realm } : { login, password, service, realm, clientAddr };
  return { kind: 'request', request };
}

/** Encodes fields as a client does; used by the testsaslauthd command and tests. */
export function encodeRequest(fields: readonly (string | Buffer)[]): Buffer {
  return encodeCounted(fields.map((f) => (typeof f === 'string' ? Buffer.from(f, 'utf8') : f)));
}

export function encodeReply(text: string): Buffer {
  return encodeCounted([text]);
}

export type DecodedReply = { readonly kind: 'incomplete' } | { readonly kind: 'reply'; readonly text: string } | { readonly kind: 'invalid'; readonly why: string };

/** Decodes a server's reply the way libsasl does: a length below 2 is an error. */
export function decodeReply(buf: Buffer): DecodedReply {
  if (buf.length < 2) return { kind: 'incomplete' };
  const len = buf.readUInt16BE(0);
  if (len < 2) return { kind: 'invalid', why: `reply length ${len}` };
  if (buf.length < 2 + len) return { kind: 'incomplete' };
  return { kind: 'reply', text: buf.toString('latin1', 2, 2 + len) };
}

/** The address part of "ip;port" as the client sent it (checked and canonicalised by the door). */
export function clientAddrText(field: Buffer | undefined): string | undefined {
  if (!field || field.length === 0) return undefined;
  const text = field.toString('latin1');
  const semi = text.lastIndexOf(';');
  return semi < 0 ? text : text.slice(0, semi);
}

/** saslauthd's reply texts for a refused login, by reason. */
export const REPLY_FAIL = {
  no_such_user: 'NO Invalid username',
  bad_password: 'NO Incorrect password',
  account_expired: 'NO Account expired',
  password_expired: 'NO Password expired',
  service_disabled: 'NO Service disabled for this account',
} as const;
/**
 * saslauthd's pam mechanism (auth_pam.c) names only the step that refused:
 * the credentials (unknown user and wrong password alike) or the account.
 */
export const REPLY_FAIL_PAM = {
  no_such_user: 'NO PAM auth error',
  bad_password: 'NO PAM auth error',
  account_expired: 'NO PAM acct error',
  password_expired: 'NO PAM acct error',
  service_disabled: 'NO PAM acct error',
} as const;
/**
 * saslauthd's rimap mechanism (auth_rimap.c) has words of its own for yes
 * and no; a yes from saslauthd's cache is its plain OK.
 */
export const REPLY_OK_RIMAP = 'OK remote authentication successful';
export const REPLY_FAIL_RIMAP = 'NO remote server rejected your credentials';
export const REPLY_TEMPFAIL = 'NO Temporary failure, try again later';
/** What saslauthd's sasldb mechanism answers for any refusal: it gives no reason. */
export const REPLY_BARE_NO = 'NO';

/** The mux socket's codec, for the server. */
export const SASLAUTHD_CODEC = {
  decode(buf: Buffer) {
    const d = decodeRequest(buf);
    return d.kind === 'reject' ? { kind: 'reject' as const, reply: encodeReply(d.reply), why: d.why } : d;
  },
  maxRequestBytes: MAX_REQUEST_BYTES,
  oversized: encodeReply(REPLY_FIELD_TOO_LONG),
  failure: encodeReply(REPLY_TEMPFAIL),
};
