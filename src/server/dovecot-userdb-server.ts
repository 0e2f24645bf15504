import { lchownSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from '../log.js';
import { LineReader, MAX_LINE_BYTES, PROTOCOL_MAJOR } from '../protocol/dovecot-auth.js';
import { encodeUserdbFail, encodeUserdbHandshake, parseUserdbLine, type UserCommand } from '../protocol/dovecot-userdb.js';
import type { ConnectionLimits } from './connection-limits.js';
import { Deadlines, sweepPeriod } from './deadlines.js';
import { MAX_REQUESTS_IN_FLIGHT } from './dovecot-auth-server.js';
import { InFlight } from './in-flight.js';
import { claimSocketPath, listenUnix, removeQuietly } from './run-dir.js';
import { ThrottledWarning } from './throttled-warning.js';

export interface DovecotUserdbOptions {
  readonly socketPath: string;
  readonly mode: number;
  /** -1 leaves the uid or gid as made. */
  readonly owner: { readonly uid: number; readonly gid: number };
  /** Shared by all the daemon's listeners. */
  readonly limits: ConnectionLimits;
  /** A new connection must send a request within this. */
  readonly requestTimeoutMs: number;
  /** Between requests a connection may stay this long. */
  readonly idleTimeoutMs: number;
  readonly log: Logger;
  /** Looks the user up and gives the encoded reply; must not throw. */
  readonly lookup: (cmd: UserCommand, gone: AbortSignal) => Promise<Buffer>;
}

/**
 * Dovecot's auth-userdb socket: greeting at connect, then `USER` requests
 * answered by id, several at once. A client that breaks the protocol (a
 * line over 16 KiB, an unknown command, an id in use, too many in flight,
 * no request in time) is disconnected, as on the auth socket.
 */
export class DovecotUserdbServer {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly deadlines: Deadlines;
  private readonly closings: ThrottledWarning;
  private closing = false;
  private readonly looking = new InFlight();

  constructor(private readonly opts: DovecotUserdbOptions) {
    this.server = createServer((s) => this.serve(s));
    this.closings = new ThrottledWarning(opts.log, { one: 'dovecot userdb connection closed', many: 'dovecot userdb connections closed' });
    this.deadlines = new Deadlines((s) => this.drop(s, 'no request in time'), sweepPeriod(Math.min(opts.requestTimeoutMs, opts.idleTimeoutMs)));
  }

  async start(): Promise<void> {
    await claimSocketPath(this.opts.socketPath);
    await listenUnix(this.server, this.opts.socketPath, this.opts.mode);
    const { uid, gid } = this.opts.owner;
    // Until this the socket is the daemon's own; lchown never follows a link put at the path.
    if (uid !== -1 || gid !== -1) lchownSync(this.opts.socketPath, uid, gid);
  }

  private drop(s: Socket, why: string): false {
    if (!s.destroyed) {
      this.closings.warn(why);
      s.destroy();
    }
    return false;
  }

  private serve(s: Socket): void {
    if (this.closing) {
      s.destroy();
      return;
    }
    const { opts } = this;
    if (!opts.limits.admit(s, opts.socketPath)) return;
    this.sockets.add(s);
    const pending = new Set<string>();
    const gone = new AbortController();
    s.on('close', () => {
      this.sockets.delete(s);
      this.deadlines.delete(s);
      gone.abort();
    });
    s.on('error', () => undefined);

    let paused = false;
    // A client that does not read its replies stops being read.
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
    // A lookup in progress has no deadline; an answered connection gets idle_timeout. VERSION alone never extends it.
    const settle = () => {
      if (s.destroyed) return;
      if (pending.size > 0) this.deadlines.delete(s);
      else this.deadlines.set(s, opts.idleTimeoutMs);
    };
    const ask = (cmd: UserCommand): boolean => {
      if (pending.has(cmd.id)) return this.drop(s, `request id ${cmd.id} already in use`);
      if (pending.size >= MAX_REQUESTS_IN_FLIGHT) return this.drop(s, `more than ${MAX_REQUESTS_IN_FLIGHT} requests in flight`);
      pending.add(cmd.id);
      this.looking.begin();
      opts
        .lookup(cmd, gone.signal)
        .catch((err: unknown) => {
          opts.log.error(`dovecot userdb: request handler failed: ${String(err)}`);
          return encodeUserdbFail(cmd.id);
        })
        .then((reply) => {
          pending.delete(cmd.id);
          send(reply);
          settle();
          this.looking.end();
        });
      settle();
      return true;
    };
    const onLine = (line: Buffer): boolean => {
      const c = parseUserdbLine(line);
      switch (c.kind) {
        case 'bad':
          return this.drop(s, c.why);
        case 'version':
          return c.major === PROTOCOL_MAJOR || this.drop(s, `protocol version ${c.major}, not ${PROTOCOL_MAJOR}`);
        case 'user':
          return ask(c.cmd);
      }
    };

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
        if (!onLine(r.line) || s.destroyed) return;
      }
    });

    send(encodeUserdbHandshake(process.pid));
    this.deadlines.set(s, opts.requestTimeoutMs);
  }

  /** Stops accepting, lets lookups in progress answer, then closes every connection. */
  async close(graceMs = 30_000): Promise<void> {
    this.closing = true;
    this.deadlines.stop();
    for (const s of this.sockets) s.pause();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    await this.looking.settled(graceMs);
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
}
