import type { PenaltyEntry, PenaltyEvent } from '../auth/penalty.js';
import type { LoginFacts } from '../relay/tracker.js';
import { SERVING_SOCKET_FD, type FromServing, type ToServing } from './serving-messages.js';

export interface FirstProcessOrders {
  /** Takes the first's failure counts and starts accepting. */
  begin(penalties: readonly PenaltyEntry[]): Promise<void>;
  reload(): Promise<void>;
  reopenLog(): void;
  flush(login: string | undefined): number;
  penalty(e: PenaltyEvent): void;
  metrics(): Promise<unknown>;
  stats(): unknown;
  /** The first process is gone (its channel closed): stop as on SIGTERM. */
  orphaned(): void;
}

/**
 * A serving process's side of the IPC channel: it waits for the shared
 * penalty key (the listening socket is inherited at SERVING_SOCKET_FD),
 * then carries out what the first process asks and tells it of grants and
 * failure counts.
 */
export class FirstProcessLink {
  private orders: FirstProcessOrders | undefined;
  /** Orders are carried out one after another, in the order sent: a reload that 'begin' asks for is done before anything is accepted. */
  private queue: Promise<void> = Promise.resolve();

  /** The first's saslauthd socket, inherited. */
  readonly listeningFd = SERVING_SOCKET_FD;

  private constructor(readonly penaltyKey: Buffer) {}

  /** The first message: the key the failure digests are made with. */
  static connect(): Promise<FirstProcessLink> {
    return new Promise((resolve, reject) => {
      if (!process.send) {
        reject(new Error('a serving process needs its IPC channel to the first process'));
        return;
      }
      const first = (m: ToServing) => {
        if (m.t !== 'start') return;
        process.off('message', first);
        resolve(new FirstProcessLink(Buffer.from(m.penaltyKey, 'base64')));
      };
      process.on('message', first);
    });
  }

  /** From here on, what the first process asks is done by `orders`. */
  serve(orders: FirstProcessOrders): void {
    this.orders = orders;
    process.on('message', (m: ToServing) => {
      this.queue = this.queue.then(() => this.obey(m));
    });
    process.once('disconnect', () => orders.orphaned());
    this.send({ t: 'ready' });
  }

  private async obey(m: ToServing): Promise<void> {
    const o = this.orders!;
    switch (m.t) {
      case 'begin':
        if (m.reload) {
          try {
            await o.reload();
          } catch (err) {
            // The configuration it was started with is no longer the first's: it must not serve with it.
            this.failed(`configuration reloaded while starting, and not taken here: ${(err as Error).message}`);
            process.exit(1);
          }
        }
        await o.begin(m.penalties);
        return;
      case 'reload':
        // A reload that fails here keeps this process's old configuration, as in the first: said in the shared log.
        await o.reload().catch(() => undefined);
        return;
      case 'reopen-log':
        o.reopenLog();
        return;
      case 'penalty':
        o.penalty(m.e);
        return;
      case 'flush':
        this.send({ t: 'answer', id: m.id, value: o.flush(m.login) });
        return;
      case 'stats':
        this.send({ t: 'answer', id: m.id, value: o.stats() });
        return;
      case 'metrics':
        this.send({ t: 'answer', id: m.id, value: await o.metrics() });
        return;
      case 'start':
        return;
    }
  }

  send(m: FromServing): void {
    if (process.connected) process.send!(m);
  }

  grant(f: LoginFacts): void {
    this.send({ t: 'grant', f });
  }

  penalty(e: PenaltyEvent): void {
    this.send({ t: 'penalty', e });
  }

  failed(why: string): void {
    this.send({ t: 'failed', why });
  }
}
