/**
 * The server side of SASL PLAIN (RFC 4616) and LOGIN, as steps over bytes
 * already base64-decoded: a challenge to send, the credentials to check,
 * or a refusal. Pure; the transport (Dovecot's protocol) is the caller's.
 */

export const SASL_MECHANISMS = ['PLAIN', 'LOGIN'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

/**
 * CRAM-MD5 (RFC 2195) is no choice of the admin's: it needs the clear
 * password, so it is offered exactly when the password source keeps one.
 */
export const CRAM_MD5 = 'CRAM-MD5';
export type OfferedMechanism = SaslMechanism | typeof CRAM_MD5;

export type MechState =
  | { readonly mech: 'PLAIN' }
  | { readonly mech: 'LOGIN'; readonly login?: Buffer }
  | { readonly mech: typeof CRAM_MD5; readonly challenge: Buffer };

export type MechStep =
  | { readonly kind: 'challenge'; readonly challenge: Buffer; readonly state: MechState }
  /** `challenge` set: the password is the client's digest of it, not a password. */
  | { readonly kind: 'credentials'; readonly login: Buffer; readonly password: Buffer; readonly challenge?: Buffer }
  /** `login` when the client named one, for the reply and the log. */
  | { readonly kind: 'refused'; readonly why: string; readonly login?: Buffer };

const USERNAME = Buffer.from('Username:');
const PASSWORD = Buffer.from('Password:');

export function isSaslMechanism(name: string): name is SaslMechanism {
  return (SASL_MECHANISMS as readonly string[]).includes(name);
}

export function isOfferedMechanism(name: string): name is OfferedMechanism {
  return name === CRAM_MD5 || isSaslMechanism(name);
}

/**
 * The first step. An empty initial response counts as none (Dovecot's
 * clients send `resp=` with LOGIN): PLAIN then asks with an empty
 * challenge, LOGIN with "Username:".
 */
export function startMechanism(mech: OfferedMechanism, initial: Buffer | undefined, cramChallenge?: Buffer): MechStep {
  const given = initial !== undefined && initial.length > 0;
  if (mech === CRAM_MD5) {
    // The server speaks first in CRAM-MD5: data before the challenge cannot be an answer to it.
    if (given) return { kind: 'refused', why: 'CRAM-MD5 takes no initial response' };
    if (!cramChallenge || cramChallenge.length === 0) return { kind: 'refused', why: 'no CRAM-MD5 challenge to send' };
    return { kind: 'challenge', challenge: cramChallenge, state: { mech, challenge: cramChallenge } };
  }
  if (mech === 'PLAIN') return given ? plain(initial) : { kind: 'challenge', challenge: Buffer.alloc(0), state: { mech } };
  return given ? loginUser(initial) : { kind: 'challenge', challenge: USERNAME, state: { mech } };
}

/** The client's answer to the last challenge. */
export function continueMechanism(state: MechState, data: Buffer): MechStep {
  if (state.mech === 'PLAIN') return plain(data);
  if (state.mech === CRAM_MD5) return cramResponse(data, state.challenge);
  if (state.login === undefined) return loginUser(data);
  const refused = badField(data, 'password', state.login);
  return refused ?? { kind: 'credentials', login: state.login, password: data };
}

function loginUser(data: Buffer): MechStep {
  return badField(data, 'login') ?? { kind: 'challenge', challenge: PASSWORD, state: { mech: 'LOGIN', login: data } };
}

/**
 * Empty or NUL-holding values never reach a check: a C library comparing
 * `alice\0x` would see `alice`, and an empty password must not meet an
 * account whose hash is empty.
 */
function badField(value: Buffer, what: 'login' | 'password', login?: Buffer): MechStep | undefined {
  const withLogin = <T extends object>(s: T) => (login ? { ...s, login } : s);
  if (value.length === 0) return withLogin({ kind: 'refused' as const, why: `empty ${what}` });
  if (value.includes(0)) return withLogin({ kind: 'refused' as const, why: `NUL byte in the ${what}` });
  return undefined;
}

/**
 * `authzid NUL authcid NUL password`. An authzid naming someone other than
 * the authcid asks to act as that user; nothing here grants that, so it is
 * refused rather than ignored: ignoring it would let the MTA believe the
 * client is the user it asked to be.
 */
function plain(data: Buffer): MechStep {
  const first = data.indexOf(0);
  const second = first < 0 ? -1 : data.indexOf(0, first + 1);
  if (second < 0) return { kind: 'refused', why: 'PLAIN data is not authzid NUL authcid NUL password' };
  const authzid = data.subarray(0, first);
  const login = data.subarray(first + 1, second);
  const password = data.subarray(second + 1);
  const refused = badField(login, 'login') ?? badField(password, 'password', login);
  if (refused) return refused;
  if (authzid.length > 0 && !authzid.equals(login)) return { kind: 'refused', why: 'authorization identity differs from the login', login };
  return { kind: 'credentials', login, password };
}

const HEX_DIGEST = /^[0-9a-fA-F]{32}$/;

/** `user SP hex(hmac_md5(password, challenge))`; the user may hold spaces, the digest never does. */
function cramResponse(data: Buffer, challenge: Buffer): MechStep {
  const sp = data.lastIndexOf(0x20);
  if (sp < 0) return { kind: 'refused', why: 'CRAM-MD5 response is not user SP digest' };
  const login = data.subarray(0, sp);
  const digest = data.subarray(sp + 1);
  const refused = badField(login, 'login');
  if (refused) return refused;
  if (!HEX_DIGEST.test(digest.toString('latin1'))) return { kind: 'refused', why: 'CRAM-MD5 digest is not 32 hex digits', login };
  return { kind: 'credentials', login, password: digest, challenge };
}
