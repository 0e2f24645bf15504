import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from '../log.js';
import { peerHungUp } from '../os/hangup.js';
import { CLIENT_GONE } from './client-gone.js';
import type { ConnectionLimits } from './connection-limits.js';
import { Deadlines, sweepPeriod } from './deadlines.js';
import { InFlight } from './in-flight.js';
import { listenOnFd, listenUnix, removeQuietly } from './run-dir.js';

/** What the server needs of a protocol: all pure, no sockets. */
export interface RequestCodec<Req> {
  decode(buf: Buffer): { readonly kind: 'incomplete' } | { readonly kind: 'request'; readonly request: Req } | { readonly kind: 'reject'; readonly reply: Buffer; readonly why: string };
  readonly maxRequestBytes: number;
  /** The reply to a request that grew past maxRequestBytes. */
  readonly oversized: Buffer;
  /** The reply when the handler failed unexpectedly. */
  readonly failure: Buffer;
}

export interface MuxServerOptions<Req> {
  readonly socketPath: string;
  readonly codec: RequestCodec<Req>;
  /** A client must send its whole request within this time, or it is dropped without a reply. */
  readonly requestTimeoutMs: number;
  /** Shared by all the daemon's listeners. */
  readonly limits: ConnectionLimits;
  readonly log: Logger;
  /**
   * Answers one decoded request with the encoded reply; must not throw.
   * `gone` fires when the client leaves before its reply: work still
   * waiting for it should be dropped. `trusted`: the peer is root or a
   * trusted user (Admission.trusted); `uid`: the peer's, when known.
   */
  readonly handle: (req: Req, gone: AbortSignal, trusted: boolean, uid: number | undefined) => Promise<Buffer>;
  /**
   * Asked first, in the turn the request arrived: the reply when it needs no
   * waiting (a cached success), else undefined and handle() is called. Saves
   * a cache hit the signal, the promises and a turn of the event loop.
   */
  readonly answerAtOnce?: (req: Req, trusted: boolean, uid: number | undefined) => Buffer | undefined;
}

const destroy = (s: Socket) => s.destroy();

/** How long a reply may take to be written before the connection is dropped. */
const REPLY_WRITE_MS = 2000;

/**
 * A Unix socket with saslauthd's exchange: one request per connection,
 * reply, half-close, drain, close. Owns its timeouts and admits connections
 * through the daemon's shared limits; the protocol itself is the codec's
 * (saslauthd's mux, or the checkpassword door).
 */
export class MuxServer<Req> {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly inFlight = new InFlight();
  private closing = false;
  private ownsPath = true;
  /** When each open connection must be gone. */
  private readonly deadlines: Deadlines;

  constructor(private readonly opts: MuxServerOptions<Req>) {
    this.server = createServer({ allowHalfOpen: true }, (s) => this.accept(s));
    this.deadlines = new Deadlines((s) => {
      if (!s.writableEnded) opts.log.debug('client sent no complete request in time; connection dropped');
      s.destroy();
    }, sweepPeriod(opts.requestTimeoutMs));
  }

  /** `sharedFd`: the first process's listening socket, in a serving process (serve_processes); the path is then the first's to remove. */
  async listen(sharedFd?: number): Promise<void> {
    if (sharedFd !== undefined) {
      this.ownsPath = false;
      await listenOnFd(this.server, sharedFd);
      return;
    }
    // The socket is 0777 like saslauthd's; who may connect is decided by the run directory's mode.
    await listenUnix(this.server, this.opts.socketPath, 0o777);
  }

  /**
   * The listening descriptor, which serving processes are started with.
   * Node has no public accessor for it; its handle's fd is what libuv listens on.
   */
  get listeningFd(): number {
    const fd = (this.server as unknown as { _handle?: { fd?: number } })._handle?.fd;
    if (typeof fd !== 'number' || fd < 0) throw new Error('the saslauthd socket has no descriptor to share');
    return fd;
  }

  private accept(s: Socket): void {
    if (this.closing) {
      s.destroy();
      return;
    }
    const peer = this.opts.limits.admit(s, this.opts.socketPath);
    if (!peer) return;
    this.sockets.add(s);
    this.deadlines.set(s, this.opts.requestTimeoutMs);
    s.on('close', () => {
      this.sockets.delete(s);
      this.deadlines.delete(s);
    });
    s.on('error', () => s.destroy());
    let buf: Buffer = Buffer.alloc(0);
    let answered = false;
    let gone: AbortController | undefined;
    let replied = false;
    const reply = (bytes: Buffer) => {
      if (s.destroyed) return;
      replied = true;
      // A reply the client does not take (its buffer full) is not waited for long.
      this.deadlines.set(s, REPLY_WRITE_MS);
      // saslauthd's order: the reply, then close. What was written to a Unix
      // socket stays readable after the close, so waiting for the client's
      // end first would only cost a shutdown and a read per login.
      // Closed after the write's own bookkeeping is done: a socket destroyed inside
      // the write callback makes Node build an error object (with its stack) to discard.
      s.write(bytes, () => setImmediate(destroy, s));
    };
    s.on('end', () => {
      // EOF before a full request: close with no reply, as saslauthd does.
      // After a full request the reply still goes out (its write then closes),
      // unless the client closed its end entirely: nobody is left to read it.
      if (!answered || (gone && peerHungUp(s))) s.destroy();
    });
    s.on('data', (chunk: Buffer) => {
      if (answered) return; // what follows a whole request is not read: the reply closes the connection
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      const d = this.opts.codec.decode(buf);
      if (d.kind === 'incomplete') {
        if (buf.length > this.opts.codec.maxRequestBytes) {
          answered = true;
          reply(this.opts.codec.oversized);
        }
        return;
      }
      answered = true;
      if (d.kind === 'reject') {
        this.opts.log.debug(`malformed request: ${d.why}`);
        reply(d.reply);
        return;
      }
      const { trusted, uid } = peer;
      const atOnce = this.atOnce(d.request, trusted, uid);
      if (atOnce) {
        reply(atOnce);
        return;
      }
      // The timeout is for receiving a request; checking it may take as long as the hash needs.
      this.deadlines.delete(s);
      this.inFlight.begin();
      const signal = (gone = new AbortController()).signal;
      // Once replied, nothing waits on the signal: no abort (and no event) for the ordinary close.
      s.once('close', () => {
        if (!replied) gone!.abort(CLIENT_GONE);
      });
      this.opts
        .handle(d.request, signal, trusted, uid)
        .catch((err: unknown) => {
          this.opts.log.error(`request handler failed: ${String(err)}`);
          return this.opts.codec.failure;
        })
        .then((bytes) => {
          reply(bytes);
          this.inFlight.end();
        });
    });
  }

  private atOnce(req: Req, trusted: boolean, uid: number | undefined): Buffer | undefined {
    if (!this.opts.answerAtOnce) return undefined;
    try {
      return this.opts.answerAtOnce(req, trusted, uid);
    } catch (err) {
      this.opts.log.error(`request handler failed: ${String(err)}`);
      return this.opts.codec.failure;
    }
  }

  /** Stops accepting, lets requests being checked finish and answer, then closes everything. */
  async close(graceMs = 30_000): Promise<void> {
    this.closing = true;
    this.deadlines.stop();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    await this.inFlight.settled(graceMs);
    // Let the last replies leave before tearing sockets down.
    await new Promise((r) => setImmediate(r));
    // A socket whose reply is still being written closes itself when the write is done, or soon.
    for (const s of this.sockets) if (!s.writableLength) s.destroy();
    const stragglers = setTimeout(() => {
      for (const s of this.sockets) s.destroy();
    }, REPLY_WRITE_MS);
    await closed;
    clearTimeout(stragglers);
    if (this.ownsPath) removeQuietly(this.opts.socketPath);
  }

  get connections(): number {
    return this.sockets.size;
  }
}
