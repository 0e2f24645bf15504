/**
 * Dovecot's auth-client protocol, server side: LF-terminated lines of
 * TAB-separated fields, v1.3's \001 escaping inside fields. Pure: bytes in,
 * values out. Field text is kept byte for byte (latin1), as every other
 * door keeps it.
 */

/** v1.3 lets a line reach 16 KiB; anything longer is not a client we know. */
export const MAX_LINE_BYTES = 16_384;

/** Version 1.2: what Dovecot 2.x servers announce and Postfix, Exim and doveadm accept. */
export const PROTOCOL_MAJOR = 1;
export const PROTOCOL_MINOR = 2;

export type LineRead = { readonly kind: 'line'; readonly line: Buffer } | { readonly kind: 'more' } | { readonly kind: 'too-long' };

/** Splits arriving bytes into lines; a line that grows past MAX_LINE_BYTES without its LF is refused before more of it is kept. */
export class LineReader {
  private buf: Buffer = Buffer.alloc(0);
  /** Bytes already known to hold no LF, so a slowly arriving line is not searched again from its start. */
  private scanned = 0;

  push(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
  }

  take(): LineRead {
    const lf = this.buf.indexOf(0x0a, this.scanned);
    if (lf < 0) {
      this.scanned = this.buf.length;
      return this.buf.length > MAX_LINE_BYTES ? { kind: 'too-long' } : { kind: 'more' };
    }
    const end = lf > 0 && this.buf[lf - 1] === 0x0d ? lf - 1 : lf;
    if (end > MAX_LINE_BYTES) return { kind: 'too-long' };
    const line = this.buf.subarray(0, end);
    this.buf = this.buf.subarray(lf + 1);
    this.scanned = 0;
    return { kind: 'line', line };
  }

  get buffered(): number {
    return this.buf.length;
  }
}

const ESCAPED: Record<string, string> = { '0': '\0', '1': '\x01', t: '\t', r: '\r', l: '\n', n: '\n' };

/** Undoes v1.3's escaping; undefined for a \001 followed by nothing or by a letter the protocol does not define. */
export function tabUnescape(field: string): string | undefined {
  if (!field.includes('\x01')) return field;
  let out = '';
  for (let i = 0; i < field.length; i++) {
    const c = field[i]!;
    if (c !== '\x01') {
      out += c;
      continue;
    }
    const e = ESCAPED[field[i + 1] ?? ''];
    if (e === undefined) return undefined;
    out += e;
    i++;
  }
  return out;
}

/** Escapes what would end a field or a line, so a value a client chose (a login) stays one field. */
export function tabEscape(value: string): string {
  return value.replace(/[\0\x01\t\r\n]/g, (c) => ({ '\0': '\x010', '\x01': '\x011', '\t': '\x01t', '\r': '\x01r', '\n': '\x01n' })[c]!);
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Strict base64: Node's decoder skips what it does not know, so "garbage" would pass as data. */
export function decodeBase64(text: string): Buffer | undefined {
  return BASE64.test(text) ? Buffer.from(text, 'base64') : undefined;
}

export interface AuthCommand {
  /** The client's request id, unique on its connection: decimal, at most 2^32-1 as Dovecot reads it. */
  readonly id: string;
  /** Upper-cased, as mechanism names compare. */
  readonly mech: string;
  readonly service: string | undefined;
  /** The client's address as sent; only the door decides whether and how it is believed. */
  readonly rip: string | undefined;
  /** The initial response, still base64; undefined when none was sent. */
  readonly resp: string | undefined;
  /** Every `name=value` parameter (the last of a name wins, as in Dovecot) and every bare flag (value ''). */
  readonly params: ReadonlyMap<string, string>;
}

export type ClientLine =
  | { readonly kind: 'version'; readonly major: number; readonly minor: number }
  | { readonly kind: 'cpid'; readonly pid: number }
  | { readonly kind: 'auth'; readonly auth: AuthCommand }
  | { readonly kind: 'cont'; readonly id: string; readonly data: string }
  /** Anything else: the connection cannot be trusted to be in step any more. */
  | { readonly kind: 'bad'; readonly why: string };

const ID = /^(?:0|[1-9]\d{0,9})$/;
const NUMBER = /^\d{1,10}$/;
const validId = (id: string) => ID.test(id) && Number(id) <= 0xffff_ffff;

/** Decodes one line (without its LF) from the client. */
export function parseClientLine(line: Buffer): ClientLine {
  const raw = line.toString('latin1').split('\t');
  const fields: string[] = [];
  for (const f of raw) {
    const u = tabUnescape(f);
    if (u === undefined) return { kind: 'bad', why: 'malformed \\001 escape' };
    fields.push(u);
  }
  const [cmd, ...args] = fields as [string, ...string[]];
  switch (cmd) {
    case 'VERSION': {
      if (args.length < 2 || !NUMBER.test(args[0]!) || !NUMBER.test(args[1]!)) return { kind: 'bad', why: 'malformed VERSION' };
      return { kind: 'version', major: Number(args[0]), minor: Number(args[1]) };
    }
    case 'CPID':
      if (args.length < 1 || !NUMBER.test(args[0]!)) return { kind: 'bad', why: 'malformed CPID' };
      return { kind: 'cpid', pid: Number(args[0]) };
    case 'AUTH':
      return parseAuth(args);
    case 'CONT': {
      if (args.length < 1 || !validId(args[0]!)) return { kind: 'bad', why: 'CONT without a valid id' };
      return { kind: 'cont', id: args[0]!, data: args[1] ?? '' };
    }
    default:
      return { kind: 'bad', why: `unknown command ${JSON.stringify(cmd.slice(0, 32))}` };
  }
}

function parseAuth(args: readonly string[]): ClientLine {
  const [id, mech, ...rest] = args;
  if (id === undefined || !validId(id)) return { kind: 'bad', why: 'AUTH without a valid id' };
  if (!mech) return { kind: 'bad', why: 'AUTH without a mechanism' };
  const params = new Map<string, string>();
  for (const p of rest) {
    const eq = p.indexOf('=');
    if (eq === 0) return { kind: 'bad', why: 'AUTH parameter without a name' };
    if (eq < 0) params.set(p, '');
    else params.set(p.slice(0, eq), p.slice(eq + 1));
  }
  const value = (name: string) => (params.has(name) ? params.get(name) : undefined);
  return { kind: 'auth', auth: { id, mech: mech.toUpperCase(), service: value('service'), rip: value('rip'), resp: value('resp'), params } };
}

export interface Handshake {
  /** Mechanism names, each announced with its flags (MECH_FLAGS). */
  readonly mechanisms: readonly string[];
  readonly serverPid: number;
  readonly connectionId: number;
  /** 32 hex digits. No MTA uses it, but Dovecot's own client library (doveadm's) refuses a handshake without it. */
  readonly cookie: string;
}

/**
 * Flags Postfix matches against smtpd_sasl_security_options: PLAIN and LOGIN
 * send the password in the clear (`noplaintext` hides them); CRAM-MD5 does
 * not, but its digest can be attacked offline (`nodictionary`) and it proves
 * the client only (`active`), as Dovecot announces it.
 */
const MECH_FLAGS: Record<string, string> = { PLAIN: 'plaintext', LOGIN: 'plaintext', 'CRAM-MD5': 'dictionary\tactive' };

/** Everything the server says first, sent whole at connect: Exim reads up to DONE before it writes. */
export function encodeHandshake(h: Handshake): Buffer {
  const lines = [
    `VERSION\t${PROTOCOL_MAJOR}\t${PROTOCOL_MINOR}`,
    ...h.mechanisms.map((m) => `MECH\t${m}\t${MECH_FLAGS[m] ?? 'plaintext'}`),
    `SPID\t${h.serverPid}`,
    `CUID\t${h.connectionId}`,
    `COOKIE\t${h.cookie}`,
    'DONE',
  ];
  return Buffer.from(lines.join('\n') + '\n', 'latin1');
}

/** A challenge: the client answers with CONT and the same id. */
export function encodeCont(id: string, challenge: Buffer): Buffer {
  return Buffer.from(`CONT\t${id}\t${challenge.toString('base64')}\n`, 'latin1');
}

export function encodeOk(id: string, user: string): Buffer {
  return Buffer.from(`OK\t${id}\tuser=${tabEscape(user)}\n`, 'latin1');
}

export interface FailFields {
  /** The login the client tried, when it got as far as naming one. */
  readonly user?: string | undefined;
  /** Shown to the mail client by Postfix: never say whether a login exists. */
  readonly reason?: string | undefined;
  /** Try again later: the password was not judged. */
  readonly temp?: boolean;
}

/**
 * A refusal. A temporary one carries both `temp` (Postfix, Exim and
 * Dovecot 2.2 clients) and `code=temp_fail` (Dovecot 2.3's), so no client
 * takes it for a wrong password.
 */
export function encodeFail(id: string, f: FailFields = {}): Buffer {
  let line = `FAIL\t${id}`;
  if (f.user !== undefined) line += `\tuser=${tabEscape(f.user)}`;
  if (f.reason !== undefined) line += `\treason=${tabEscape(f.reason)}`;
  if (f.temp) line += '\ttemp\tcode=temp_fail';
  return Buffer.from(line + '\n', 'latin1');
}
