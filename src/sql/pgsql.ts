import { createHash } from 'node:crypto';
import { basename, dirname } from 'node:path';
import pg from 'pg';
import { withDeadline, type FailureKind, type PoolSettings, type Row, type SqlDriverAdapter } from './client.js';

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOENT', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND', '28P01', '28000', '3D000', '53300', '57P03']);
/** admin_shutdown, crash_shutdown, cannot_connect_now, connection_failure and friends. */
const LOST = new Set(['57P01', '57P02', '08000', '08003', '08006', '08001', '08004', 'ECONNRESET', 'EPIPE']);

/** libpq wants the socket's directory; a full `.s.PGSQL.<port>` path also gives the port. */
function socketTarget(path: string): { host: string; port?: number } {
  const m = /^\.s\.PGSQL\.(\d+)$/.exec(basename(path));
  return m ? { host: dirname(path), port: Number(m[1]) } : { host: path };
}

const STALE_PLAN = '0A000';
const statementNames = new Map<string, string>();

function nameFor(sql: string): string {
  const name = `authmux_${createHash('sha1').update(sql).digest('hex').slice(0, 16)}`;
  if (statementNames.size < 10_000) statementNames.set(sql, name);
  return name;
}

/** PostgreSQL through pg's pool. */
export function createPgsqlAdapter(s: PoolSettings): SqlDriverAdapter {
  const c = s.connection;
  const target = c.socketPath ? socketTarget(c.socketPath) : { host: c.host, port: c.port };
  const pool = new pg.Pool({
    host: target.host,
    port: target.port ?? c.port ?? 5432,
    user: c.user,
    password: c.password,
    database: c.database,
    max: s.size,
    connectionTimeoutMillis: s.connectTimeoutMs,
    idleTimeoutMillis: 60_000,
    keepAlive: true,
  });
  // An idle client cut by the server (pg_terminate_backend, restart) reports here, not to a request.
  pool.on('error', (err) => s.onIdleError(err.message));
  // A client cut while checked out emits 'error' besides failing its query; unheard, that would end the
  // process. Heard from the moment the pool has it: a backend terminated right after it became ready
  // sends both in one read, so the error comes before the request that was handed the client resumes.
  pool.on('connect', (client) => client.on('error', () => undefined));

  return {
    dialect: 'pgsql',
    async run(sql, params, timeoutMs) {
      const started = Date.now();
      const client = await withDeadline(pool.connect(), timeoutMs, 'connecting to PostgreSQL', (late) => late.release());
      let failure: Error | undefined;
      const values = params as (string | number)[];
      try {
        const left = () => Math.max(1, timeoutMs - (Date.now() - started));
        // A named statement is parsed and planned once per connection: measured a quarter faster per lookup.
        const name = statementNames.get(sql) ?? nameFor(sql);
        try {
          return (await withDeadline(client.query({ name, text: sql, values }), left(), 'the query')).rows as Row[];
        } catch (err) {
          if ((err as { code?: string }).code !== STALE_PLAN) throw err;
          // The table changed under the statement ("cached plan must not change result type"): ask again unprepared,
          // and let this session go, with every statement it prepared.
          failure = err as Error;
          return (await withDeadline(client.query({ text: sql, values }), left(), 'the query')).rows as Row[];
        }
      } catch (err) {
        const code = (err as { code?: string }).code;
        // SQL-level errors leave the session usable; anything else (timeout, broken socket) discards it.
        if (!(typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && !LOST.has(code))) failure = err as Error;
        throw err;
      } finally {
        client.release(failure);
      }
    },
    classify(err): FailureKind {
      const e = err as { code?: string; message?: string };
      if (e?.code === '42P01') return 'no_table';
      if ((e?.code && UNREACHABLE.has(e.code)) || /timeout exceeded when trying to connect/i.test(e?.message ?? '')) return 'unreachable';
      if ((e?.code && LOST.has(e.code)) || /Connection terminated|connection timeout|not queryable/i.test(e?.message ?? '')) return 'connection_lost';
      return 'other';
    },
    async close() {
      await pool.end().catch(() => undefined);
    },
  };
}
