import { PROTOCOL_MAJOR } from '../protocol/dovecot-auth.js';
import { encodeUserdbFail, encodeUserdbHandshake, parseUserdbLine, type UserCommand } from '../protocol/dovecot-userdb.js';
import { LineListener, MAX_REQUESTS_IN_FLIGHT, type Connection, type LineListenerOptions, type Session } from './line-listener.js';

export interface DovecotUserdbOptions extends LineListenerOptions {
  /** Looks the user up and gives the encoded reply; must not throw. */
  readonly lookup: (cmd: UserCommand, gone: AbortSignal) => Promise<Buffer>;
}

/**
 * Dovecot's auth-userdb socket: greeting at connect, then `USER` requests
 * answered by id, several at once. A client that breaks the protocol (a
 * line over 16 KiB, an unknown command, an id in use, too many in flight,
 * no request in time) is disconnected, as on the auth socket.
 */
export class DovecotUserdbServer extends LineListener<DovecotUserdbOptions> {
  constructor(opts: DovecotUserdbOptions) {
    super(opts, 'dovecot userdb', 'no request in time');
  }

  protected session({ socket: s, gone, send }: Connection): Session {
    const { opts } = this;
    const pending = new Set<string>();
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
      this.work.begin();
      opts
        .lookup(cmd, gone)
        .catch((err: unknown) => {
          opts.log.error(`dovecot userdb: request handler failed: ${String(err)}`);
          return encodeUserdbFail(cmd.id);
        })
        .then((reply) => {
          pending.delete(cmd.id);
          send(reply);
          settle();
          this.work.end();
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

    return { greeting: encodeUserdbHandshake(process.pid), onLine };
  }
}
