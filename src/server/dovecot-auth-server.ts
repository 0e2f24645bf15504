import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import * as door from '../doors/dovecot-auth.js';
import { decodeBase64, encodeCont, encodeFail, encodeHandshake, parseClientLine, PROTOCOL_MAJOR, type AuthCommand } from '../protocol/dovecot-auth.js';
import { continueMechanism, CRAM_MD5, isOfferedMechanism, startMechanism, type MechState, type MechStep, type OfferedMechanism } from '../protocol/sasl-mechanisms.js';
import { LineListener, MAX_REQUESTS_IN_FLIGHT, type Connection, type LineListenerOptions, type Session } from './line-listener.js';

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

export interface DovecotAuthOptions extends LineListenerOptions {
  readonly mechanisms: readonly OfferedMechanism[];
  /** Checks a login and gives the encoded reply; must not throw. `gone` fires when the client leaves. */
  readonly check: (login: DovecotLogin, gone: AbortSignal, trusted: boolean, uid: number | undefined) => Promise<Buffer>;
  /** Asked first: the reply when it needs no waiting (a cached success), else undefined and check() is called. Must not throw. */
  readonly answerAtOnce?: (login: DovecotLogin, trusted: boolean, uid: number | undefined) => Buffer | undefined;
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
export class DovecotAuthServer extends LineListener<DovecotAuthOptions> {
  private connectionIds = 0;

  constructor(opts: DovecotAuthOptions) {
    super(opts, 'dovecot auth', 'no request, or no answer to a challenge, in time');
  }

  private atOnce(login: DovecotLogin, trusted: boolean, uid: number | undefined): Buffer | undefined {
    if (!this.opts.answerAtOnce) return undefined;
    try {
      return this.opts.answerAtOnce(login, trusted, uid);
    } catch (err) {
      this.opts.log.error(`dovecot auth: request handler failed: ${String(err)}`);
      return encodeFail(login.auth.id, { user: login.login.toString('latin1'), temp: true });
    }
  }

  protected session({ socket: s, trusted, uid, gone, send }: Connection): Session {
    const { opts } = this;
    const pending = new Map<string, Pending>();
    let challenged = 0;

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
      const now = this.atOnce({ auth, login, password, challenge }, trusted, uid);
      if (now) {
        send(now);
        settle();
        return;
      }
      pending.set(auth.id, { kind: 'checking' });
      this.work.begin();
      opts
        .check({ auth, login, password, challenge }, gone, trusted, uid)
        .catch((err: unknown) => {
          opts.log.error(`dovecot auth: request handler failed: ${String(err)}`);
          return encodeFail(auth.id, { user: login.toString('latin1'), temp: true });
        })
        .then((reply) => {
          pending.delete(auth.id);
          send(reply);
          settle();
          this.work.end();
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

    // The whole handshake, greeting the client before it writes: Exim reads up to DONE first.
    const greeting = encodeHandshake({ mechanisms: opts.mechanisms, serverPid: process.pid, connectionId: ++this.connectionIds, cookie: randomBytes(16).toString('hex') });
    return { greeting, onLine };
  }
}
