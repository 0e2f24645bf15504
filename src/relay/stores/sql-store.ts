import { TempFail } from '../../errors.js';
import { createSqlAdapter } from '../../sql/adapter.js';
import { ResilientSql } from '../../sql/resilient.js';
import type { VpopmailConfig } from '../../config/vpopmail.js';
import type { Logger } from '../../log.js';
import type { RelayStore } from '../store.js';

/**
 * vpopmail's own `relay` table (ip_addr, timestamp), on the connection
 * vpopmail writes with, so vpopmail's open-smtp tools and cron jobs keep
 * working on the same rows.
 */
export class SqlRelayStore implements RelayStore {
  readonly name = 'vpopmail';
  private readonly sql: ResilientSql;

  constructor(v: VpopmailConfig, log: Logger) {
    this.sql = new ResilientSql({
      adapter: createSqlAdapter(v.write, 2, v.queryTimeoutMs, log, 'relay'),
      connection: v.write,
      queryTimeoutMs: v.queryTimeoutMs,
      retryAfterMs: 1000,
      onStateChange: (up, why) => (up ? log.info(`relay: vpopmail relay table: ${why}`) : log.error(`relay: vpopmail relay table unreachable: ${why}`)),
    });
  }

  private p(n: number): string {
    return this.sql.dialect === 'mysql' ? '?' : `$${n}`;
  }

  private async rows(sql: string, params: ReadonlyArray<string | number>): Promise<Array<Record<string, unknown>>> {
    const out = await this.sql.query(sql, params);
    if ('noTable' in out) throw new TempFail('vpopmail has no relay table');
    return out.rows;
  }

  async put(ip: string, at: number): Promise<void> {
    const sql = this.sql.dialect === 'mysql'
      ? 'INSERT INTO relay (ip_addr, timestamp) VALUES (?, ?) ON DUPLICATE KEY UPDATE timestamp = IF(CAST(timestamp AS UNSIGNED) < CAST(VALUES(timestamp) AS UNSIGNED), VALUES(timestamp), timestamp)'
      : 'INSERT INTO relay (ip_addr, timestamp) VALUES ($1, $2) ON CONFLICT (ip_addr) DO UPDATE SET timestamp = EXCLUDED.timestamp WHERE CAST(relay.timestamp AS BIGINT) < CAST(EXCLUDED.timestamp AS BIGINT)';
    await this.rows(sql, [ip, String(at)]);
  }

  async get(ip: string): Promise<number | undefined> {
    const r = await this.rows(`SELECT timestamp FROM relay WHERE ip_addr = ${this.p(1)}`, [ip]);
    return r.length > 0 ? Number(r[0]!['timestamp']) : undefined;
  }

  async remove(ips: readonly string[]): Promise<string[]> {
    const gone: string[] = [];
    for (const ip of ips) {
      if ((await this.get(ip)) === undefined) continue;
      await this.rows(`DELETE FROM relay WHERE ip_addr = ${this.p(1)}`, [ip]);
      gone.push(ip);
    }
    return gone;
  }

  async entries(): Promise<Array<[string, number]>> {
    const r = await this.rows('SELECT ip_addr, timestamp FROM relay', []);
    return r.map((row) => [String(row['ip_addr']), Number(row['timestamp'])] as [string, number]).filter(([, at]) => Number.isFinite(at));
  }

  async expireBefore(cutoff: number): Promise<string[]> {
    const stale = (await this.entries()).filter(([, at]) => at < cutoff).map(([ip]) => ip);
    return this.remove(stale);
  }

  close(): Promise<void> {
    return this.sql.close();
  }
}
