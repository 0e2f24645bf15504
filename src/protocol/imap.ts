/**
 * The part of IMAP4rev1 (RFC 3501) a client needs to check a password with
 * LOGIN: commands out, response lines in. Pure: bytes in, values out; the
 * conversation, its order and its limits live in backends/rimap.
 */

/** A value that cannot be put on the wire at all. */
export class ImapEncodeError extends Error {
  override readonly name = 'ImapEncodeError';
}

/** The server broke the protocol (a line too long, a line that is no response). */
export class ImapProtocolError extends Error {
  override readonly name = 'ImapProtocolError';
}

const CR = 0x0d;
const LF = 0x0a;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Printable ASCII goes in a quoted string. RFC 3501 would also let other
 * control characters in, but servers differ on them; a literal is read the
 * same way by every server, so anything else (CR, LF, 8-bit UTF-8) goes as one.
 */
function quotable(value: Buffer): boolean {
  for (const b of value) if (b < 0x20 || b > 0x7e) return false;
  return true;
}

function quoted(value: Buffer): Buffer {
  const out: number[] = [QUOTE];
  for (const b of value) {
    if (b === QUOTE || b === BACKSLASH) out.push(BACKSLASH);
    out.push(b);
  }
  out.push(QUOTE);
  return Buffer.from(out);
}

/**
 * A command as the pieces to send one at a time. Each argument is a quoted
 * string or a synchronizing literal (`{n}` CRLF, then the bytes once the
 * server has answered `+`): every piece but the last ends with a literal's
 * announcement, and the next may only go after the server's continuation.
 * LITERAL+ would save those round trips, but only where the server offers
 * it; synchronizing literals are understood by all. A NUL byte can be sent
 * in no form (RFC 3501 excludes it from literals too): refused.
 */
export function encodeCommand(tag: string, command: string, args: readonly Buffer[]): Buffer[] {
  if (!/^[A-Za-z0-9]+$/.test(tag) || !/^[A-Z]+$/.test(command)) throw new ImapEncodeError('tag and command are plain atoms');
  const pieces: Buffer[] = [];
  let current: Buffer[] = [Buffer.from(`${tag} ${command}`, 'latin1')];
  for (const arg of args) {
    if (arg.includes(0)) throw new ImapEncodeError('a NUL byte cannot be sent in IMAP');
    current.push(Buffer.from(' '));
    if (quotable(arg)) {
      current.push(quoted(arg));
      continue;
    }
    current.push(Buffer.from(`{${arg.length}}\r\n`, 'latin1'));
    pieces.push(Buffer.concat(current));
    current = [arg];
  }
  current.push(Buffer.from('\r\n'));
  pieces.push(Buffer.concat(current));
  return pieces;
}

export type Status = 'OK' | 'NO' | 'BAD' | 'PREAUTH' | 'BYE';

/** `[NAME args]` at the start of a status response's text (RFC 3501 7.1, RFC 5530). */
export interface ResponseCode {
  /** Upper-cased: AUTHENTICATIONFAILED, UNAVAILABLE, CAPABILITY... */
  readonly name: string;
  readonly args: string;
}

export type Response =
  | { readonly kind: 'continuation'; readonly text: string }
  /** `* OK ...`, `* BYE ...`, or data such as `* CAPABILITY ...` (status undefined, keyword CAPABILITY). */
  | { readonly kind: 'untagged'; readonly status: Status | undefined; readonly keyword: string; readonly code: ResponseCode | undefined; readonly text: string }
  | { readonly kind: 'tagged'; readonly tag: string; readonly status: 'OK' | 'NO' | 'BAD'; readonly code: ResponseCode | undefined; readonly text: string };

const STATUSES: readonly Status[] = ['OK', 'NO', 'BAD', 'PREAUTH', 'BYE'];

function splitCode(rest: string): { code: ResponseCode | undefined; text: string } {
  if (!rest.startsWith('[')) return { code: undefined, text: rest };
  const end = rest.indexOf(']');
  if (end < 0) return { code: undefined, text: rest };
  const inner = rest.slice(1, end);
  const space = inner.indexOf(' ');
  const name = (space < 0 ? inner : inner.slice(0, space)).toUpperCase();
  return { code: { name, args: space < 0 ? '' : inner.slice(space + 1) }, text: rest.slice(end + 1).trimStart() };
}

/**
 * One response line (without its CRLF). Anything that is no response
 * (no tag, a tagged line with no status) is a protocol error: the
 * conversation cannot go on, and the caller answers "try again".
 * Bytes above 0x7f are read as latin1: they only ever reach a log line.
 */
export function parseResponse(line: Buffer): Response {
  const text = line.toString('latin1');
  if (text === '+' || text.startsWith('+ ')) return { kind: 'continuation', text: text.slice(2) };
  const sp = text.indexOf(' ');
  if (sp <= 0) throw new ImapProtocolError('a response line with no tag');
  const tag = text.slice(0, sp);
  const after = text.slice(sp + 1);
  const sp2 = after.indexOf(' ');
  const word = (sp2 < 0 ? after : after.slice(0, sp2)).toUpperCase();
  const rest = sp2 < 0 ? '' : after.slice(sp2 + 1);
  const status = (STATUSES as readonly string[]).includes(word) ? (word as Status) : undefined;
  if (tag === '*') {
    const { code, text: t } = status ? splitCode(rest) : { code: undefined, text: rest };
    return { kind: 'untagged', status, keyword: word, code, text: t };
  }
  if (status !== 'OK' && status !== 'NO' && status !== 'BAD') throw new ImapProtocolError(`a tagged response that is not OK, NO or BAD`);
  const { code, text: t } = splitCode(rest);
  return { kind: 'tagged', tag, status, code, text: t };
}

/**
 * The capabilities a response lists, upper-cased: `* CAPABILITY ...` or a
 * `[CAPABILITY ...]` code (servers put one in the greeting); undefined when
 * it lists none.
 */
export function capabilitiesOf(r: Response): ReadonlySet<string> | undefined {
  if (r.kind === 'continuation') return undefined;
  const list = r.kind === 'untagged' && r.keyword === 'CAPABILITY' ? r.text : r.code?.name === 'CAPABILITY' ? r.code.args : undefined;
  if (list === undefined) return undefined;
  return new Set(list.toUpperCase().split(' ').filter((w) => w !== ''));
}

/**
 * Splits what a server sends into lines (LF or CRLF), holding at most
 * `maxLine` bytes of a line that has not ended: a server that never sends
 * LF costs that much memory, then the conversation ends.
 */
export class LineReader {
  private pending: Buffer = Buffer.alloc(0);

  constructor(private readonly maxLine: number) {}

  push(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const lastLf = this.pending.lastIndexOf(LF);
    const unterminated = lastLf < 0 ? this.pending.length : this.pending.length - lastLf - 1;
    if (unterminated > this.maxLine) throw new ImapProtocolError(`a line longer than ${this.maxLine} bytes`);
  }

  /** The next whole line, without its line end; undefined when none has ended yet. */
  next(): Buffer | undefined {
    const lf = this.pending.indexOf(LF);
    if (lf < 0) return undefined;
    const end = lf > 0 && this.pending[lf - 1] === CR ? lf - 1 : lf;
    if (end > this.maxLine) throw new ImapProtocolError(`a line longer than ${this.maxLine} bytes`);
    const line = this.pending.subarray(0, end);
    this.pending = this.pending.subarray(lf + 1);
    return line;
  }

  /** Bytes received and not yet handed out as lines. */
  get buffered(): number {
    return this.pending.length;
  }
}
