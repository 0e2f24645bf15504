/**
 * The userdb side of Dovecot's auth protocol (its auth-userdb socket), as
 * chasquid and other MTAs use it to ask whether a mailbox exists: the
 * server greets, the client asks `USER`, the server answers by id. The
 * line format and escaping are the auth-client socket's.
 */
import { PROTOCOL_MAJOR, tabEscape, tabUnescape } from './dovecot-auth.js';

/** Dovecot's master/userdb protocol is at 1.x too; clients check only the major. */
export const USERDB_MINOR = 1;

export interface UserCommand {
  /** The client's request id, unique on its connection. */
  readonly id: string;
  readonly user: string;
  readonly service: string | undefined;
}

export type UserdbLine =
  | { readonly kind: 'version'; readonly major: number }
  | { readonly kind: 'user'; readonly cmd: UserCommand }
  | { readonly kind: 'bad'; readonly why: string };

const ID = /^(?:0|[1-9]\d{0,9})$/;
const NUMBER = /^\d{1,10}$/;

/** Decodes one line (without its LF) from the client; anything but VERSION and USER is a breach. */
export function parseUserdbLine(line: Buffer): UserdbLine {
  const fields: string[] = [];
  for (const f of line.toString('latin1').split('\t')) {
    const u = tabUnescape(f);
    if (u === undefined) return { kind: 'bad', why: 'malformed \\001 escape' };
    fields.push(u);
  }
  const [cmd, ...args] = fields as [string, ...string[]];
  switch (cmd) {
    case 'VERSION':
      if (args.length < 2 || !NUMBER.test(args[0]!) || !NUMBER.test(args[1]!)) return { kind: 'bad', why: 'malformed VERSION' };
      return { kind: 'version', major: Number(args[0]) };
    case 'USER': {
      const [id, user, ...rest] = args;
      if (id === undefined || !ID.test(id) || Number(id) > 0xffff_ffff) return { kind: 'bad', why: 'USER without a valid id' };
      if (!user) return { kind: 'bad', why: 'USER without a user name' };
      let service: string | undefined;
      for (const p of rest) if (p.startsWith('service=')) service = p.slice('service='.length);
      return { kind: 'user', cmd: { id, user, service } };
    }
    default:
      return { kind: 'bad', why: `unknown command ${JSON.stringify(cmd.slice(0, 32))}` };
  }
}

/** What the server says at connect, before the client speaks. */
export function encodeUserdbHandshake(serverPid: number): Buffer {
  return Buffer.from(`VERSION\t${PROTOCOL_MAJOR}\t${USERDB_MINOR}\nSPID\t${serverPid}\n`, 'latin1');
}

/** The account exists. Only its name goes back: never a password field, which Dovecot's userdb would not carry either. */
export function encodeUser(id: string, user: string): Buffer {
  return Buffer.from(`USER\t${id}\t${tabEscape(user)}\n`, 'latin1');
}

export function encodeNotFound(id: string): Buffer {
  return Buffer.from(`NOTFOUND\t${id}\n`, 'latin1');
}

/** The source could not say: the client must not take it for "no such user" and bounce mail. */
export function encodeUserdbFail(id: string): Buffer {
  return Buffer.from(`FAIL\t${id}\n`, 'latin1');
}
