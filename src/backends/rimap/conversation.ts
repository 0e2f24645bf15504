import { connect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import type { RimapTls } from '../../config/rimap.js';
import { TempFail } from '../../errors.js';
import { capabilitiesOf, encodeCommand, ImapProtocolError, LineReader, parseResponse, type Response } from '../../protocol/imap.js';
import { Abandoned } from '../../work-queue.js';
import { loginOutcome, type LoginOutcome } from './outcome.js';

export interface ImapTarget {
  readonly host: string;
  readonly port: number;
  readonly tls: RimapTls;
  /** The CAs to trust (PEM), read anew for each connection; undefined: Node's own list. */
  readonly ca: () => string | undefined;
}

/** What a broken or hostile server may cost one check, at most. */
export interface ConversationLimits {
  /** Name lookup, connect, TLS and every answer together. */
  readonly timeoutMs: number;
  readonly maxLineBytes: number;
  /** Untagged lines (greeting, CAPABILITY, alerts): a server that talks on and on is cut off. */
  readonly maxUntagged: number;
  readonly maxReceivedBytes: number;
}

export const DEFAULT_LIMITS: Omit<ConversationLimits, 'timeoutMs'> = { maxLineBytes: 8192, maxUntagged: 64, maxReceivedBytes: 256 * 1024 };

/** How long a finished connection may wait for the server's goodbye before it is cut. */
const LINGER_MS = 2000;

type Tagged = Extract<Response, { kind: 'tagged' }>;

/** A socket error in words an admin can act on; Node's multi-address connect reports an AggregateError with an empty message. */
function describe(err: Error): string {
  const inner = (err as Partial<AggregateError>).errors;
  if (Array.isArray(inner) && inner.length > 0) return inner.map((e: Error) => e.message).join('; ');
  return err.message || (err as NodeJS.ErrnoException).code || String(err);
}

/**
 * One connection to the IMAP server, read one response at a time. Every
 * way it can end badly (refused, reset, closed early, a line too long,
 * too much said, the deadline) becomes a TempFail here, the one place
 * rimap's errors are sorted: a server that does not answer properly has
 * said nothing about the password.
 */
class ImapConnection {
  private socket: Socket;
  private readonly reader: LineReader;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  private received = 0;
  private untagged = 0;
  private finished = false;
  private readonly timer: NodeJS.Timeout;
  private readonly where: string;

  private readonly onData = (chunk: Buffer) => {
    if (this.finished) return;
    this.received += chunk.length;
    try {
      if (this.received > this.limits.maxReceivedBytes) throw new ImapProtocolError(`the server sent more than ${this.limits.maxReceivedBytes} bytes`);
      this.reader.push(chunk);
    } catch (err) {
      this.fail(new TempFail(`${this.where}: ${(err as Error).message}`));
    }
    this.notify();
  };
  private readonly onError = (err: Error) => this.fail(new TempFail(`${this.where}: ${describe(err)}`));
  private readonly onClose = () => this.fail(new TempFail(`${this.where}: the server closed the connection${this.bye ? ` (BYE ${this.bye})` : ''}`));
  private readonly onAbort = () => this.fail(new Abandoned('client gone while the IMAP server was asked'));
  /** The text of a BYE the server sent, for the line that says why it hung up. */
  private bye: string | undefined;

  constructor(
    private readonly target: ImapTarget,
    private readonly limits: ConversationLimits,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.where = `IMAP server ${target.host}/${target.port}`;
    this.reader = new LineReader(limits.maxLineBytes);
    // Node looks the name up for each connection (getaddrinfo, as the system resolves it) and
    // tries every address it gets: a name that does not resolve now fails this check alone.
    this.socket = connect({ host: target.host, port: target.port });
    this.listen(this.socket);
    this.timer = setTimeout(() => this.fail(new TempFail(`${this.where}: no answer within ${limits.timeoutMs / 1000} s`)), limits.timeoutMs);
    signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  private listen(s: Socket): void {
    s.on('data', this.onData);
    s.on('error', this.onError);
    s.on('close', this.onClose);
  }

  private unlisten(s: Socket): void {
    s.off('data', this.onData);
    s.off('error', this.onError);
    s.off('close', this.onClose);
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private fail(err: Error): void {
    if (this.finished) return;
    this.failure ??= err;
    this.end();
    this.socket.destroy();
    this.notify();
  }

  private end(): void {
    this.finished = true;
    clearTimeout(this.timer);
    this.signal?.removeEventListener('abort', this.onAbort);
  }

  /** Waits for `ready()` to hold, or throws what ended the connection first. */
  private async until(ready: () => boolean): Promise<void> {
    while (!ready()) {
      if (this.failure) throw this.failure;
      await new Promise<void>((r) => (this.wake = r));
    }
    if (this.failure) throw this.failure;
  }

  async connected(): Promise<void> {
    let up = false;
    this.socket.once('connect', () => {
      up = true;
      this.notify();
    });
    await this.until(() => up);
  }

  /**
   * Puts TLS under the conversation. Whatever the server sent after its
   * STARTTLS answer and before the handshake came in the clear and would be
   * read as if it came over TLS: a man in the middle's way to put his own
   * capabilities or answers there. Refused.
   */
  async startTls(): Promise<void> {
    if (this.reader.buffered > 0) {
      this.fail(new TempFail(`${this.where}: the server sent more in the clear after its STARTTLS answer: refused, it could come from anyone on the way`));
      throw this.failure;
    }
    const raw = this.socket;
    const options: ConnectionOptions = {
      socket: raw,
      host: this.target.host,
      // SNI takes a name, never an address; an address is still checked against the certificate's IP names.
      ...(isIP(this.target.host) ? {} : { servername: this.target.host.replace(/\.$/, '') }),
      ca: this.target.ca(),
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
    };
    this.unlisten(raw);
    // The TLS socket reports the errors of the one below it.
    raw.on('error', () => undefined);
    const secure = tlsConnect(options);
    this.socket = secure;
    this.listen(secure);
    let up = false;
    secure.once('secureConnect', () => {
      up = true;
      this.notify();
    });
    await this.until(() => up);
  }

  async read(): Promise<Response> {
    let line: Buffer | undefined;
    await this.until(() => {
      try {
        line = this.reader.next();
      } catch (err) {
        this.fail(new TempFail(`${this.where}: ${(err as Error).message}`));
      }
      return line !== undefined || this.failure !== undefined;
    });
    let r: Response;
    try {
      r = parseResponse(line!);
    } catch (err) {
      this.fail(new TempFail(`${this.where}: ${(err as Error).message}`));
      throw this.failure;
    }
    if (r.kind === 'untagged') {
      if (r.status === 'BYE') this.bye = r.text.slice(0, 200);
      if (++this.untagged > this.limits.maxUntagged) {
        this.fail(new TempFail(`${this.where}: more than ${this.limits.maxUntagged} untagged responses`));
        throw this.failure;
      }
    }
    return r;
  }

  write(bytes: Buffer, secret = false): void {
    if (this.failure) throw this.failure;
    // The password's copy is wiped once the socket is done with it.
    this.socket.write(bytes, secret ? () => bytes.fill(0) : undefined);
  }

  /**
   * Reads until the answer tagged `tag`; a continuation request ("+")
   * goes to `onContinue`, and is a protocol error where none is awaited.
   */
  async tagged(tag: string, onContinue?: () => void): Promise<Tagged> {
    for (;;) {
      const r = await this.read();
      if (r.kind === 'untagged') continue;
      if (r.kind === 'continuation') {
        if (!onContinue) this.protocolError('a continuation request where none was awaited');
        onContinue!();
        continue;
      }
      if (r.tag !== tag) this.protocolError(`an answer tagged ${JSON.stringify(r.tag.slice(0, 20))} to a command tagged ${tag}`);
      return r;
    }
  }

  protocolError(what: string): never {
    this.fail(new TempFail(`${this.where}: ${what}`));
    throw this.failure!;
  }

  /** LOGOUT, as saslauthd sends it, then the connection is left to close; the login's answer does not wait for it. */
  logout(tag: string): void {
    if (this.failure) return;
    this.end();
    this.socket.write(`${tag} LOGOUT\r\n`);
    this.socket.end();
    this.socket.on('data', () => undefined);
    this.socket.on('error', () => undefined);
    setTimeout(() => this.socket.destroy(), LINGER_MS).unref();
  }

  destroy(): void {
    this.fail(new TempFail(`${this.where}: closed`));
  }
}

/**
 * One LOGIN against the IMAP server on a connection of its own: greeting,
 * STARTTLS when asked for, LOGIN, LOGOUT. Resolves with what the tagged
 * answer means; throws TempFail when the server gave no usable answer (and
 * Abandoned when the client went away). The password is sent only after
 * the server has shown it can take it: over TLS when TLS is asked for,
 * and never to a server that announced LOGINDISABLED.
 */
export async function imapLogin(target: ImapTarget, login: Buffer, password: Buffer, limits: ConversationLimits, signal?: AbortSignal): Promise<LoginOutcome> {
  const pieces = encodeCommand('A3', 'LOGIN', [login, password]);
  const conn = new ImapConnection(target, limits, signal);
  try {
    await conn.connected();
    if (target.tls === 'imaps') await conn.startTls();
    const greeting = await conn.read();
    if (greeting.kind !== 'untagged' || (greeting.status !== 'OK' && greeting.status !== 'PREAUTH' && greeting.status !== 'BYE')) conn.protocolError('a greeting that is not * OK');
    const g = greeting as Extract<Response, { kind: 'untagged' }>;
    if (g.status === 'BYE') conn.protocolError(`the server turned the connection away: ${g.text.slice(0, 200)}`);
    // Logged in before any password: such a server would take every password, so it can check none.
    if (g.status === 'PREAUTH') conn.protocolError('the server greets with PREAUTH (logged in without a password): it cannot check passwords');
    let caps = capabilitiesOf(g);
    if (caps === undefined && target.tls !== 'imaps') {
      conn.write(Buffer.from('A1 CAPABILITY\r\n'));
      const done = await tagWithCapabilities(conn, 'A1');
      caps = done.caps;
      if (done.answer.status !== 'OK') conn.protocolError(`CAPABILITY answered ${done.answer.status}`);
    }
    if (target.tls === 'starttls') {
      if (!caps?.has('STARTTLS')) conn.protocolError('the server does not offer STARTTLS (rimap_tls: starttls)');
      conn.write(Buffer.from('A2 STARTTLS\r\n'));
      const answer = await conn.tagged('A2');
      if (answer.status !== 'OK') conn.protocolError(`STARTTLS answered ${answer.status} ${answer.text.slice(0, 200)}`);
      await conn.startTls();
      // What was announced in the clear no longer counts (RFC 3501 6.2.1).
      caps = undefined;
    }
    if (caps?.has('LOGINDISABLED')) {
      conn.protocolError(`the server refuses LOGIN here (LOGINDISABLED)${target.tls === 'none' ? ': it wants TLS, set rimap_tls: starttls or imaps' : ''}; the password was not sent`);
    }
    let sent = 0;
    conn.write(pieces[sent++]!, true);
    const answer = await conn.tagged('A3', () => {
      if (sent >= pieces.length) conn.protocolError('a continuation request after the whole LOGIN was sent');
      conn.write(pieces[sent++]!, true);
    });
    // Said before the password arrived: a refusal of the command, never a yes.
    if (sent < pieces.length && answer.status === 'OK') conn.protocolError('LOGIN answered OK before the password was sent');
    for (const p of pieces.slice(sent)) p.fill(0);
    conn.logout('A4');
    return loginOutcome(answer);
  } catch (err) {
    conn.destroy();
    for (const p of pieces) p.fill(0);
    throw err;
  }
}

/** The capabilities of a CAPABILITY command's untagged answer, and its tagged status. */
async function tagWithCapabilities(conn: ImapConnection, tag: string): Promise<{ caps: ReadonlySet<string> | undefined; answer: Tagged }> {
  let caps: ReadonlySet<string> | undefined;
  for (;;) {
    const r = await conn.read();
    if (r.kind === 'continuation') conn.protocolError('a continuation request where none was awaited');
    if (r.kind === 'untagged') {
      caps = capabilitiesOf(r) ?? caps;
      continue;
    }
    const t = r as Tagged;
    if (t.tag !== tag) conn.protocolError(`an answer tagged ${JSON.stringify(t.tag.slice(0, 20))} to a command tagged ${tag}`);
    return { caps: capabilitiesOf(t) ?? caps, answer: t };
  }
}
