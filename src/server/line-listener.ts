import { setMaxListeners } from 'node:events';
import { lchownSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from '../log.js';
import { LineReader, MAX_LINE_BYTES } from '../protocol/dovecot-auth.js';
import { CLIENT_GONE } from './client-gone.js';
import type { ConnectionLimits } from './connection-limits.js';
import { Deadlines, sweepPeriod } from './deadlines.js';
import { InFlight } from './in-flight.js';
import { claimSocketPath, isActivated, listenUnix, removeQuietly } from './run-dir.js';
import { ThrottledWarning } from './throttled-warning.js';

/** Requests one connection may have open at once; Postfix has one, Dovecot's login processes a few dozen. */
export const MAX_REQUESTS_IN_FLIGHT = 64;

export interface LineListenerOptions {
  readonly socketPath: string;
  /** Made with this mode (through the umask), then given to `owner`: the MTA connects through the group. */
  readonly mode: number;
  /** -1 leaves the uid or gid as made (the daemon's own). */
  readonly owner: { readonly uid: number; readonly gid: number };
  /** Shared by all the daemon's listeners. */
  readonly limits: ConnectionLimits;
  /** A new connection must send a request (and a challenged client answer it) within this. */
  readonly requestTimeoutMs: number;
  /** Between requests a connection may stay this long; Postfix keeps one per process and reconnects by itself. */
  readonly idleTimeoutMs: number;
  readonly log: Logger;
}

/** One admitted connection, as a protocol sees it. */
export interface Connection {
  readonly socket: Socket;
  /** Root or a trusted user (Admission.trusted). */
  readonly trusted: boolean;
  /** The peer's uid, when the kernel told it. */
  readonly uid: number | undefined;
  /** Fires when the client leaves: work still waiting for it is dropped. */
  readonly gone: AbortSignal;
  /** Writes a reply; a client that does not read its replies stops being read, so it costs a socket buffer, not our memory. */
  send(bytes: Buffer): void;
}

/** What a protocol does with a connection: its greeting, and each line (false: the connection was dropped). */
export interface Session {
  readonly greeting: Buffer;
  onLine(line: Buffer): boolean;
}

/**
 * A Unix socket speaking a line protocol of Dovecot's kind (auth-client,
 * auth-userdb): claiming and owning the socket, admission, the greeting at
 * connect, lines up to MAX_LINE_BYTES, deadlines, one throttled log line
 * per dropped client, and a stop that lets work under way answer.
 */
export abstract class LineListener<O extends LineListenerOptions> {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  protected readonly deadlines: Deadlines;
  /** Any local client able to connect can break the protocol on purpose, as often as it likes. */
  private readonly closings: ThrottledWarning;
  private closing = false;
  /** Requests being answered, over all connections: close() lets them finish. */
  protected readonly work = new InFlight();

  constructor(protected readonly opts: O, noun: string, late: string) {
    this.server = createServer((s) => this.accept(s));
    this.closings = new ThrottledWarning(opts.log, { one: `${noun} connection closed`, many: `${noun} connections closed` });
    this.deadlines = new Deadlines((s) => this.drop(s, late), sweepPeriod(Math.min(opts.requestTimeoutMs, opts.idleTimeoutMs)));
  }

  /** The protocol's part of a new connection. */
  protected abstract session(c: Connection): Session;

  async start(): Promise<void> {
    await claimSocketPath(this.opts.socketPath);
    await listenUnix(this.server, this.opts.socketPath, this.opts.mode);
    const { uid, gid } = this.opts.owner;
    // Until this, the socket is the daemon's own with the mode asked for: nobody else could connect in between.
    // lchown: the run directory is checked private, and a link at the path is never followed.
    if ((uid !== -1 || gid !== -1) && !isActivated(this.opts.socketPath)) lchownSync(this.opts.socketPath, uid, gid);
  }

  protected drop(s: Socket, why: string): false {
    if (!s.destroyed) {
      this.closings.warn(why);
      s.destroy();
    }
    return false;
  }

  private accept(s: Socket): void {
    if (this.closing) {
      s.destroy();
      return;
    }
    const peer = this.opts.limits.admit(s, this.opts.socketPath);
    if (!peer) return;
    this.sockets.add(s);
    const gone = new AbortController();
    // Every request in flight on the connection waits on this one signal: as many listeners as requests.
    setMaxListeners(MAX_REQUESTS_IN_FLIGHT + 1, gone.signal);
    s.on('close', () => {
      this.sockets.delete(s);
      this.deadlines.delete(s);
      gone.abort(CLIENT_GONE);
    });
    s.on('error', () => undefined);
    let paused = false;
    const send = (bytes: Buffer) => {
      if (s.destroyed) return;
      if (!s.write(bytes) && !paused) {
        paused = true;
        s.pause();
        s.once('drain', () => {
          paused = false;
          if (!this.closing) s.resume();
        });
      }
    };
    const session = this.session({ socket: s, trusted: peer.trusted, uid: peer.uid, gone: gone.signal, send });
    const reader = new LineReader();
    s.on('data', (chunk: Buffer) => {
      reader.push(chunk);
      for (;;) {
        const r = reader.take();
        if (r.kind === 'more') break;
        if (r.kind === 'too-long') {
          this.drop(s, `line over ${MAX_LINE_BYTES} bytes`);
          return;
        }
        if (!session.onLine(r.line) || s.destroyed) return;
      }
    });
    // The greeting at once, without waiting for the client: Exim reads up to DONE before it writes.
    send(session.greeting);
    this.deadlines.set(s, this.opts.requestTimeoutMs);
  }

  /**
   * Stops accepting and reading, lets the work under way answer (a restart
   * must not fail the SMTP clients the MTA holds), then closes every
   * connection; a request still waiting for the client is abandoned, and
   * the MTA reconnects to the next daemon by itself.
   */
  async close(graceMs = 30_000): Promise<void> {
    this.closing = true;
    this.deadlines.stop();
    for (const s of this.sockets) s.pause();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    await this.work.settled(graceMs);
    // The last replies leave before the connections go; a client that does not take them is not waited for long.
    for (const s of this.sockets) {
      s.end();
      s.once('finish', () => s.destroy());
    }
    const stragglers = setTimeout(() => {
      for (const s of this.sockets) s.destroy();
    }, 1000);
    await closed;
    clearTimeout(stragglers);
    this.closings.close();
    removeQuietly(this.opts.socketPath);
  }

  get connections(): number {
    return this.sockets.size;
  }
}
