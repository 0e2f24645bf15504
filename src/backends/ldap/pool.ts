import { TempFail } from '../../errors.js';
import { VerifyQueue } from '../../work-queue.js';
import type { LdapServer } from '../../config/ldap.js';
import { classify, openLink, Unreachable, type Link, type LinkSettings } from './connection.js';

export interface ServerSetOptions {
  readonly servers: readonly LdapServer[];
  readonly link: LinkSettings;
  /** After a server proved unreachable, it is skipped for this long instead of each request waiting a connect timeout. */
  readonly retryAfterMs: number;
  readonly onStateChange: (server: LdapServer, up: boolean, why: string) => void;
  readonly now?: () => number;
}

interface ServerState {
  downUntil: number;
  down: boolean;
  why: string;
}

/**
 * ldap_servers, tried in order for every new connection. A server that
 * cannot be reached is skipped for retryAfterMs; while it is being tried
 * again the others skip it too, so only one request pays the connect
 * timeout. When every server is skipped the answer is at once: try again.
 */
export class ServerSet {
  private readonly state = new Map<LdapServer, ServerState>();
  private readonly now: () => number;

  constructor(private readonly o: ServerSetOptions) {
    this.now = o.now ?? Date.now;
    for (const s of o.servers) this.state.set(s, { downUntil: 0, down: false, why: '' });
  }

  async open(prepare: (link: Link) => Promise<void>): Promise<Link> {
    const skipped: string[] = [];
    for (const server of this.o.servers) {
      const st = this.state.get(server)!;
      const now = this.now();
      if (st.down && now < st.downUntil) {
        skipped.push(`${server.uri}: ${st.why}`);
        continue;
      }
      // Others skip it while this attempt runs, however long the connect timeout.
      if (st.down) st.downUntil = now + this.o.link.timeoutMs + this.o.retryAfterMs;
      let link: Link;
      try {
        link = await openLink(server, this.o.link);
      } catch (err) {
        const why = err instanceof Unreachable ? err.message.slice(server.uri.length + 2) : classify(err).message;
        this.markDown(server, st, why);
        skipped.push(`${server.uri}: ${why}`);
        continue;
      }
      this.markUp(server, st);
      try {
        await prepare(link);
        return link;
      } catch (err) {
        link.close();
        const failure = classify(err);
        // A service bind left unanswered or cut off says the server is hung, not that the bind is wrong:
        // skip it like one that cannot be reached, and ask the next.
        if (failure.kind === 'timeout' || failure.kind === 'lost') {
          this.markDown(server, st, failure.message);
          skipped.push(`${server.uri}: ${failure.message}`);
          continue;
        }
        // Reached, but refused as configured (the service bind itself refused): the next server would say the same.
        throw err instanceof TempFail ? err : new TempFail(`${server.uri}: ${failure.message}`);
      }
    }
    throw new TempFail(`no LDAP server reachable (${skipped.join('; ')})`);
  }

  /**
   * A server that took a connection but left an operation unanswered for
   * ldap_timeout (hung, or stuck behind a firewall that drops packets) is
   * skipped like one that cannot be reached, and its open links are dropped.
   */
  unresponsive(server: LdapServer, why: string): void {
    this.markDown(server, this.state.get(server)!, why);
  }

  /** An operation was answered: the server is up, whatever was said of it before. */
  answered(server: LdapServer): void {
    this.markUp(server, this.state.get(server)!);
  }

  isSkipped(server: LdapServer): boolean {
    const st = this.state.get(server)!;
    return st.down && this.now() < st.downUntil;
  }

  private markUp(server: LdapServer, st: ServerState): void {
    if (!st.down) return;
    st.down = false;
    this.o.onStateChange(server, true, 'reachable again');
  }

  private markDown(server: LdapServer, st: ServerState, why: string): void {
    st.why = why;
    st.downUntil = this.now() + this.o.retryAfterMs;
    if (st.down) return;
    st.down = true;
    this.o.onStateChange(server, false, why);
  }
}

export interface PoolOptions {
  readonly servers: ServerSet;
  /** Links used at once; more requests wait their turn (root's and the MTA's first). */
  readonly size: number;
  /** Run on each new link before it is used (the service bind); throwing makes the server count as unusable. */
  readonly prepare: (link: Link) => Promise<void>;
}

export interface UseOptions {
  readonly signal?: AbortSignal | undefined;
  readonly trusted?: boolean | undefined;
}

/**
 * Links kept open between requests, each used by one operation at a time.
 * A link the server closed (a restart, an idle timeout) is dropped when it
 * is next picked; an operation that loses its link on the way is run once
 * more on a fresh one, so a restarted server costs the client nothing.
 */
export class LinkPool {
  private readonly idle: Link[] = [];
  private readonly queue: VerifyQueue;
  private closed = false;

  constructor(private readonly o: PoolOptions) {
    this.queue = new VerifyQueue(o.size);
  }

  use<T>(op: (link: Link) => Promise<T>, opts: UseOptions = {}): Promise<T> {
    return this.queue.run(async () => {
      for (let attempt = 1; ; attempt++) {
        const reused = this.take();
        const link = reused ?? (await this.o.servers.open(this.o.prepare));
        try {
          const out = await op(link);
          this.o.servers.answered(link.server);
          this.giveBack(link);
          return out;
        } catch (err) {
          const f = classify(err);
          if (link.alive && f.kind === 'result') this.giveBack(link);
          else link.close();
          if (f.kind === 'timeout') this.o.servers.unresponsive(link.server, f.message);
          if (reused && attempt === 1 && f.kind === 'lost') continue;
          throw err;
        }
      }
    }, opts.signal, opts.trusted === true);
  }

  private take(): Link | undefined {
    for (let link = this.idle.pop(); link; link = this.idle.pop()) {
      if (link.alive && !this.o.servers.isSkipped(link.server)) return link;
      link.close();
    }
    return undefined;
  }

  private giveBack(link: Link): void {
    if (this.closed || !link.alive) link.close();
    else this.idle.push(link);
  }

  close(): void {
    this.closed = true;
    for (const link of this.idle.splice(0)) link.close();
  }
}
