import { unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { TempFail } from '../errors.js';
import type { Logger } from '../log.js';
import { canonicalIp } from '../net/address.js';
import { MAX_NETSTRING, netstring, NetstringReader } from '../protocol/netstring.js';
import type { ConnectionLimits } from './connection-limits.js';
import { Deadlines, sweepPeriod } from './deadlines.js';
import { claimSocketPath, listenUnix } from './run-dir.js';
import { ThrottledWarning } from './throttled-warning.js';

/**
 * What one connection may have received and not yet answered: the longest
 * request plus one read. Reading stops while a request is answered, so only
 * a client that breaks the protocol comes near it.
 */
const MAX_BUFFERED_INPUT = MAX_NETSTRING + 16 + 65_536;
/** Lookups answered in a row before other connections get a turn. */
const LOOKUPS_PER_TURN = 64;

export interface SocketmapOptions {
  /** Shared by all the daemon's listeners. */
  readonly limits: ConnectionLimits;
  /** A request, once begun, must be complete within this; a client must also take each reply within it. */
  readonly requestTimeoutMs: number;
  /** Between requests a connection may stay this long; Postfix reconnects by itself. */
  readonly idleTimeoutMs: number;
}

export type LiveCheck = (ip: string) => Promise<boolean> | boolean;

/**
 * Postfix's and Sendmail's socketmap: netstring `<map> <key>` in, `OK OK`
 * for an address holding a live grant (the data `OK` is the access action
 * that permits), `NOTFOUND ` otherwise, `TEMP <why>` when the store cannot
 * answer. Any map name is served. A malformed netstring closes the connection.
 */
export class SocketmapServer {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly deadlines: Deadlines;
  /** Any local client can break the protocol on purpose, as often as it likes. */
  private readonly closings: ThrottledWarning;

  constructor(private readonly path: string, private readonly isLive: LiveCheck, private readonly log: Logger, private readonly opts: SocketmapOptions) {
    this.deadlines = new Deadlines((s) => {
      log.debug('relay socketmap: client idle, stalled mid-request or not reading its replies; connection closed');
      s.destroy();
    }, sweepPeriod(Math.min(opts.requestTimeoutMs, opts.idleTimeoutMs)));
    this.closings = new ThrottledWarning(log, { one: 'relay socketmap connection closed', many: 'relay socketmap connections closed' });
  }

  async answer(body: Buffer): Promise<string> {
    const text = body.toString('latin1');
    const sp = text.indexOf(' ');
    if (sp <= 0) return 'PERM request is not "<map> <key>"';
    const ip = canonicalIp(text.slice(sp + 1));
    if (!ip) return 'NOTFOUND ';
    try {
      return (await this.isLive(ip)) ? 'OK OK' : 'NOTFOUND ';
    } catch (err) {
      const why = err instanceof TempFail ? err.message : `internal error: ${(err as Error).message}`;
      this.log.error(`relay socketmap: ${why}`);
      return `TEMP ${why.replace(/[^\x20-\x7e]/g, '?').slice(0, 200)}`;
    }
  }

  /**
   * Many lookups per connection, answered in order. Reading pauses while a
   * lookup is answered and while the client has not taken earlier replies
   * (the socket is over its high-water mark), so a client that pipelines
   * without reading is held back by the kernel's socket buffers, not by our
   * memory: a connection holds at most one request and one read of input
   * and a high-water mark of replies.
   */
  private serve(sock: Socket): void {
    if (!this.opts.limits.admit(sock, this.path)) return;
    this.sockets.add(sock);
    sock.on('close', () => {
      this.sockets.delete(sock);
      this.deadlines.delete(sock);
    });
    sock.on('error', () => undefined);
    const input = new NetstringReader();
    let busy = false;
    let paused = false;
    /** Set once a request has begun arriving: the time it has runs from then, not from each new byte. */
    let requestDeadlineSet = false;
    const waitForInput = () => {
      if (input.buffered === 0) {
        requestDeadlineSet = false;
        input.shrink();
        this.deadlines.set(sock, this.opts.idleTimeoutMs);
      } else if (!requestDeadlineSet) {
        requestDeadlineSet = true;
        this.deadlines.set(sock, this.opts.requestTimeoutMs);
      }
      if (paused) {
        paused = false;
        sock.resume();
      }
    };
    const replies: Buffer[] = [];
    let replyBytes = 0;
    /** Writes the gathered replies at once (a write each would cost more than the reply); waits while the client has not taken earlier ones. */
    const send = async (): Promise<boolean> => {
      if (replyBytes > 0) {
        const ok = sock.write(replies.length === 1 ? replies[0]! : Buffer.concat(replies, replyBytes));
        replies.length = 0;
        replyBytes = 0;
        if (!ok) {
          this.deadlines.set(sock, this.opts.requestTimeoutMs);
          await drained(sock);
          this.deadlines.delete(sock);
        }
      }
      return !sock.destroyed;
    };
    const pump = async () => {
      busy = true;
      try {
        for (;;) {
          const t = input.take();
          if (t.kind === 'more') break;
          if (t.kind === 'bad') {
            this.closings.warn(`malformed request (${t.why})`);
            sock.destroy();
            return;
          }
          if (!paused) {
            paused = true;
            sock.pause();
          }
          requestDeadlineSet = false;
          // The store's own timeouts bound the answer.
          this.deadlines.delete(sock);
          const reply = netstring(await this.answer(t.body));
          if (sock.destroyed) return;
          replies.push(reply);
          replyBytes += reply.length;
          if (replies.length === LOOKUPS_PER_TURN || replyBytes >= sock.writableHighWaterMark) {
            if (!(await send())) return;
            // Other connections get a turn before this one goes on.
            await new Promise((r) => setImmediate(r));
            if (sock.destroyed) return;
          }
        }
        if (!(await send())) return;
      } finally {
        busy = false;
      }
      waitForInput();
    };
    sock.on('data', (chunk: Buffer) => {
      input.push(chunk);
      if (input.buffered > MAX_BUFFERED_INPUT) {
        this.closings.warn('more than a request sent without waiting for the replies');
        sock.destroy();
        return;
      }
      // A running pump takes what arrives while it awaits an answer.
      if (!busy) void pump();
    });
    waitForInput();
  }

  async start(): Promise<void> {
    // Claimed like the mux socket: a stale socket goes, a live one or anything else stays and we refuse.
    await claimSocketPath(this.path);
    const server = createServer((s) => this.serve(s));
    // Postfix's smtpd runs as postfix, Sendmail as smmsp or root: the map must be reachable by them.
    await listenUnix(server, this.path, 0o666);
    this.server = server;
  }

  async close(): Promise<void> {
    this.deadlines.stop();
    this.closings.close();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    try {
      unlinkSync(this.path);
    } catch {
      // Already gone.
    }
  }
}

/** Resolves when the client has taken enough replies, or is gone. */
function drained(s: Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      s.off('drain', done);
      s.off('close', done);
      resolve();
    };
    s.on('drain', done);
    s.on('close', done);
  });
}
