import { TempFail } from '../errors.js';
import type { SqlConnection } from '../config/sql-connection.js';
import { describeError, type Row, type SqlDriverAdapter } from './client.js';

export interface ResilientOptions {
  readonly adapter: SqlDriverAdapter;
  readonly connection: SqlConnection;
  readonly queryTimeoutMs: number;
  /** After the server proved unreachable, requests fail at once for this long instead of each waiting for a connect timeout. */
  readonly retryAfterMs: number;
  readonly onStateChange: (up: boolean, why: string) => void;
  readonly now?: () => number;
}

/** What a statement came back with: rows, or the news that its table does not exist. */
export type Outcome = { readonly rows: Row[] } | { readonly noTable: true };

/**
 * Every failure becomes a TempFail (never a wrong answer), a broken
 * connection is retried once on a fresh one (that is MySQL's "server has gone
 * away" after idle, handled without the client ever seeing it), and while
 * the server is down requests fail fast until the next probe. Recovery needs
 * no restart: the pools reconnect on demand.
 */
export class ResilientSql {
  private downUntil = 0;
  private down = false;
  private lastError = '';
  private readonly now: () => number;

  constructor(private readonly o: ResilientOptions) {
    this.now = o.now ?? Date.now;
  }

  get dialect(): 'mysql' | 'pgsql' {
    return this.o.adapter.dialect;
  }

  async query(sql: string, params: readonly (string | number)[]): Promise<Outcome> {
    if (this.down && this.now() < this.downUntil) throw new TempFail(`database unreachable: ${this.lastError}`);
    const deadline = this.now() + this.o.queryTimeoutMs;
    for (let attempt = 1; ; attempt++) {
      try {
        const rows = await this.o.adapter.run(sql, params, Math.max(1, deadline - this.now()));
        this.markUp();
        return { rows };
      } catch (err) {
        const kind = this.o.adapter.classify(err);
        if (kind === 'no_table') {
          this.markUp();
          return { noTable: true };
        }
        const why = describeError(err, this.o.connection);
        if (kind === 'unreachable') {
          this.markDown(why);
          throw new TempFail(`database unreachable: ${why}`);
        }
        if (kind === 'connection_lost' && attempt === 1 && deadline - this.now() > 0) continue;
        throw new TempFail(`database error: ${why}`);
      }
    }
  }

  private markUp(): void {
    if (!this.down) return;
    this.down = false;
    this.o.onStateChange(true, 'database reachable again');
  }

  private markDown(why: string): void {
    this.lastError = why;
    this.downUntil = this.now() + this.o.retryAfterMs;
    if (this.down) return;
    this.down = true;
    this.o.onStateChange(false, why);
  }

  close(): Promise<void> {
    return this.o.adapter.close();
  }
}
