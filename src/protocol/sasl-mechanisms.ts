/**
 * The server side of SASL PLAIN (RFC 4616) and LOGIN, as steps over bytes
 * already base64-decoded: a challenge to send, the credentials to check,
 * or a refusal. Pure; the transport (Dovecot's protocol) is the caller's.
 */

export const SASL_MECHANISMS = ['PLAIN', 'LOGIN'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

export type MechState = { readonly mech: 'PLAIN' } | { readonly mech: 'LOGIN'; readonly login?: Buffer };

export type MechStep =
  | { readonly kind: 'challenge'; readonly challenge: Buffer; readonly state: MechState }
  | { readonly kind: 'credentials'; readonly login: Buffer; readonly password: Buffer }
  /** `login` when the client named one, for the reply and the log. */
  | { readonly kind: 'refused'; readonly why: string; readonly login?: Buffer };

const USERNAME = Buffer.from('Username:');
const PASSWORD = Buffer.from('Password:');

export function isSaslMechanism(name: string): name is SaslMechanism {
  return (SASL_MECHANISMS as readonly string[]).includes(name);
}

/**
 * The first step. An empty initial response counts as none (Dovecot's
 * clients send `resp=` with LOGIN): PLAIN then asks with an empty
 * challenge, LOGIN with "Username:".
 */
export function startMechanism(mech: SaslMechanism, initial: Buffer | undefined): MechStep {
  const given = initial !== undefined && initial.length > 0;
  if (mech === 'PLAIN') return given ? plain(initial) : { kind: 'challenge', challenge: Buffer.alloc(0), state: { mech } };
  return given ? loginUser(initial) : { kind: 'challenge', challenge: USERNAME, state: { mech } };
}

/** The client's answer to the last challenge. */
export function continueMechanism(state: MechState, data: Buffer): MechStep {
  if (state.mech === 'PLAIN') return plain(data);
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
