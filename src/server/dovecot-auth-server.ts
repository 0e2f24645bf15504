import { setMaxListeners } from 'node:events';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { lchownSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import * as door from '../doors/dovecot-auth.js';
import type { Logger } from '../log.js';
import { decodeBase64, encodeCont, encodeFail, encodeHandshake, LineReader, MAX_LINE_BYTES, parseClientLine, PROTOCOL_MAJOR, type AuthCommand } from '../protocol/dovecot-auth.js';
import { continueMechanism, CRAM_MD5, isOfferedMechanism, startMechanism, type MechState, type MechStep, type OfferedMechanism } from '../protocol/sasl-mechanisms.js';
import type { ConnectionLimits } from './connection-limits.js';
import { Deadlines, sweepPeriod } from './deadlines.js';
import { claimSocketPath, listenUnix, removeQuietly } from './run-dir.js';
import { ThrottledWarning } from './throttled-warning.js';
import { InFlight } from './in-flight.js';

/** Requests one connection may have open at once; Postfix has one, Dovecot's login processes a few dozen. */
export const MAX_REQUESTS_IN_FLIGHT = 64;

/** A login whose mechanism exchange is complete: the credentials to check. */
export interface DovecotLogin {
  readonly auth: AuthCommand;
  readonly login: Buffer;
  readonly password: Buffer;
  /** CRAM-MD5: the challenge sent; `password` is then the client's digest of it. */
  readonly challenge?: Buffer | undefined;
}

/** A request refused before any check, for the log. */
export interface DovecotRefusal {
  readonly auth: AuthCommand;
  readonly why: string;
  readonly login?: Buffer | undefined;
}

export interface DovecotAuthOptions {
  readonly socketPath: string;
  /** Made with this mode (through the umask), then given to `owner`: the MTA connects through the group. */
  readonly mode: number;
  /** -1 leaves the uid or gid as made (the daemon's own). */
  readonly owner: { readonly uid: number; readonly gid: number };
  readonly mechanisms: readonly OfferedMechanism[];
  /** Shared by all the daemon's listeners. */
  readonly limits: ConnectionLimits;
  /** A new connection must send a request, and a challenged client answer it, within this. */
  readonly requestTimeoutMs: number;
  /** Between requests a connection may stay this long; Postfix keeps one per smtpd process and reconnects by itself. */
  readonly idleTimeoutMs: number;
  readonly log: Logger;
  /** Checks a login and gives the encoded reply; must not throw. `gone` fires when the client leaves. */
  readonly check: (login: DovecotLogin, gone: AbortSignal, trusted: boolean) => Promise<Buffer>;
  readonly refused: (refusal: DovecotRefusal, trusted: boolean) => void;
}

/**
 * RFC 2195's `<random.time@host>`. Unpredictable and never repeated, so a
 * digest seen on the wire is worth nothing for the next login.
 */
export function cramChallenge(): Buffer {
  return Buffer.from(`<${randomBytes(8).readBigUInt64BE()}.${Date.now()}@${hostname()}>`, 'latin1');
}

type Pending = { readonly kind: 'challenged'; readonly auth: AuthCommand; readonly state: MechState } | { readonly kind: 'checking' };

/**
 * Dovecot's auth-client socket, the way Postfix (`smtpd_sasl_type =
 * dovecot`), Exim and doveadm use it: the handshake at connect, then any
 * number of requests, several at once, answered by id. A client that
 * breaks the protocol (a line over 16 KiB, an unknown command, an id in
 * use, more than MAX_REQUESTS_IN_FLIGHT, no request in time) is
 * disconnected: after that its lines cannot be trusted to be in step.
 */
export class DovecotAuthServer {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly deadlines: Deadlines;
  /** Any local client able to connect can break the protocol on purpose, as often as it likes. */
  private readonly closings: ThrottledWarning;
  private connectionIds = 0;
  private closing = false;
  /** Logins being checked, over all connections: close() lets them answer. */
  private readonly checking = new InFlight();

  constructor(private readonly opts: DovecotAuthOptions) {
    this.server = createServer((s) => this.serve(s));
    this.closings = new ThrottledWarning(opts.log, { one: 'dovecot auth connection closed', many: 'dovecot auth connections closed' });
    this.deadlines = new Deadlines((s) => this.drop(s, 'no request, or no answer to a challenge, in time'), sweepPeriod(Math.min(opts.requestTimeoutMs, opts.idleTimeoutMs)));
  }

  async start(): Promise<void> {
    await claimSocketPath(this.opts.socketPath);
    await listenUnix(this.server, this.opts.socketPath, this.opts.mode);
    const { uid, gid } = this.opts.owner;
    // Until this, the socket is the daemon's own with the mode asked for: nobody else could connect in between.
    // lchown: the run directory is checked private, and a link at the path is never followed.
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
    const trusted = opts.limits.isTrusted(s);
    const pending = new Map<string, Pending>();
    let challenged = 0;
    const gone = new AbortController();
    // Every request in flight on this connection waits on the one signal: as many listeners as requests.
    setMaxListeners(MAX_REQUESTS_IN_FLIGHT + 1, gone.signal);
    s.on('close', () => {
      this.sockets.delete(s);
      this.deadlines.delete(s);
      gone.abort();
    });
    s.on('error', () => undefined);

    let paused = false;
    /** A client that does not read its replies stops being read, so it costs a socket buffer, not our memory. */
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
    /**
     * Called when a request moves on, never for other lines, so VERSION or
     * CPID sent again and again keeps no connection open. A challenge
     * outstanding keeps its own deadline; a check in progress has none (it
     * takes what the hash takes); a connection that has had its answers
     * gets idle_timeout.
     */
    const settle = () => {
      if (s.destroyed || challenged > 0) return;
      if (pending.size > 0) this.deadlines.delete(s);
      else this.deadlines.set(s, opts.idleTimeoutMs);
    };
    const refuse = (auth: AuthCommand, why: string, login?: Buffer) => {
      opts.refused({ auth, why, login }, trusted);
      send(door.refusal(auth.id, login));
      settle();
    };
    const check = (auth: AuthCommand, login: Buffer, password: Buffer, challenge: Buffer | undefined) => {
      pending.set(auth.id, { kind: 'checking' });
      this.checking.begin();
      opts
        .check({ auth, login, password, challenge }, gone.signal, trusted)
        .catch((err: unknown) => {
          opts.log.error(`dovecot auth: request handler failed: ${String(err)}`);
          return encodeFail(auth.id, { user: login.toString('latin1'), temp: true });
        })
        .then((reply) => {
          pending.delete(auth.id);
          send(reply);
          settle();
          this.checking.end();
        });
    };
    const step = (auth: AuthCommand, st: MechStep) => {
      switch (st.kind) {
        case 'challenge':
          pending.set(auth.id, { kind: 'challenged', auth, state: st.state });
          challenged++;
          send(encodeCont(auth.id, st.challenge));
          this.deadlines.set(s, opts.requestTimeoutMs);
          return;
        case 'refused':
          refuse(auth, st.why, st.login);
          return;
        case 'credentials':
          check(auth, st.login, st.password, st.challenge);
      }
    };
    const begin = (auth: AuthCommand): boolean => {
      if (pending.has(auth.id)) return this.drop(s, `request id ${auth.id} already in use`);
      if (pending.size >= MAX_REQUESTS_IN_FLIGHT) return this.drop(s, `more than ${MAX_REQUESTS_IN_FLIGHT} requests in flight`);
      if (!auth.service) return this.drop(s, 'AUTH without service=');
      if (!isOfferedMechanism(auth.mech) || !opts.mechanisms.includes(auth.mech)) {
        refuse(auth, `mechanism ${auth.mech.slice(0, 32)} not offered`);
        return true;
      }
      let initial: Buffer | undefined;
      if (auth.resp !== undefined) {
        initial = decodeBase64(auth.resp);
        if (!initial) {
          refuse(auth, 'initial response is not base64');
          return true;
        }
      }
      step(auth, startMechanism(auth.mech, initial, auth.mech === CRAM_MD5 ? cramChallenge() : undefined));
      settle();
      return true;
    };
    const answer = (id: string, data: string): boolean => {
      const p = pending.get(id);
      // A request already answered (refused, say) may still get the client's next step: it is told again, as Dovecot does.
      if (!p) {
        send(door.refusal(id, undefined));
        return true;
      }
      if (p.kind === 'checking') return this.drop(s, `CONT for request ${id} while it is being checked`);
      pending.delete(id);
      challenged--;
      const bytes = decodeBase64(data);
      if (!bytes) refuse(p.auth, 'response is not base64');
      else step(p.auth, continueMechanism(p.state, bytes));
      settle();
      return true;
    };
    const onLine = (line: Buffer): boolean => {
      const c = parseClientLine(line);
      switch (c.kind) {
        case 'bad':
          return this.drop(s, c.why);
        case 'version':
          return c.major === PROTOCOL_MAJOR || this.drop(s, `protocol version ${c.major}, not ${PROTOCOL_MAJOR}`);
        case 'cpid':
          return true;
        case 'auth':
          return begin(c.auth);
        case 'cont':
          return answer(c.id, c.data);
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

    // The whole handshake at once, without waiting for the client's VERSION: Exim reads up to DONE before it writes.
    send(encodeHandshake({ mechanisms: opts.mechanisms, serverPid: process.pid, connectionId: ++this.connectionIds, cookie: randomBytes(16).toString('hex') }));
    this.deadlines.set(s, opts.requestTimeoutMs);
  }

  /**
   * Stops accepting and reading, lets the logins being checked answer (a
   * restart must not fail the SMTP clients Postfix holds), then closes
   * every connection; a request still waiting for the client's CONT is
   * abandoned, and Postfix reconnects to the next daemon by itself.
   */
  async close(graceMs = 30_000): Promise<void> {
    this.closing = true;
    this.deadlines.stop();
    for (const s of this.sockets) s.pause();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    await this.checking.settled(graceMs);
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
