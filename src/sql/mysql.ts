import { createPool, type Pool, type PoolConnection } from 'mysql2';
import { withDeadline, type FailureKind, type PoolSettings, type Row, type SqlDriverAdapter } from './client.js';

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOENT', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND', 'ER_ACCESS_DENIED_ERROR', 'ER_BAD_DB_ERROR', 'ER_CON_COUNT_ERROR']);
const LOST = new Set(['PROTOCOL_CONNECTION_LOST', 'ECONNRESET', 'EPIPE', 'ER_CONNECTION_KILLED', 'ER_SERVER_SHUTDOWN', 'PROTOCOL_SEQUENCE_TIMEOUT', 'ER_QUERY_INTERRUPTED', 'CR_SERVER_GONE_ERROR', 'CR_SERVER_LOST']);

/**
 * Prepared statements each connection keeps (mysql2 closes the least recently
 * used beyond this). The server caps them for all clients together
 * (max_prepared_stmt_count, 16382 by default), and the per-domain layout has
 * one lookup per domain table.
 */
const STATEMENTS_PER_CONNECTION = 128;

/**
 * MySQL/MariaDB through mysql2's pool, latin1 on the wire as vpopmail's
 * tables are. Values travel as parameters of server-side prepared
 * statements, never spliced into the text: mysql2's client-side escaping
 * writes `\'`, which a server in NO_BACKSLASH_ESCAPES mode reads as a
 * backslash and the end of the string.
 */
export function createMysqlAdapter(s: PoolSettings): SqlDriverAdapter {
  const c = s.connection;
  const pool: Pool = createPool({
    ...(c.socketPath ? { socketPath: c.socketPath } : { host: c.host, port: c.port ?? 3306 }),
    user: c.user,
    password: c.password,
    database: c.database,
    connectionLimit: s.size,
    maxIdle: s.size,
    idleTimeout: 60_000,
    connectTimeout: s.connectTimeoutMs,
    enableKeepAlive: true,
    // Bytes of a login go to the server unchanged, whatever their encoding.
    charset: 'LATIN1_SWEDISH_CI',
    queueLimit: 0,
    maxPreparedStatements: STATEMENTS_PER_CONNECTION,
  });
  // A connection the server closes while idle reports here; without a listener it would end the process.
  pool.on('connection', (conn) => conn.on('error', (err: Error) => s.onIdleError(err.message)));
  // mysql2's callback interface, wrapped here: its promise wrapper records a stack trace for every query.
  const connection = () => new Promise<PoolConnection>((resolve, reject) => pool.getConnection((err, conn) => (err ? reject(err) : resolve(conn))));
  const execute = (conn: PoolConnection, sql: string, values: (string | number)[]) =>
    new Promise<Row[]>((resolve, reject) => conn.execute({ sql, values }, (err, rows) => (err ? reject(err) : resolve(rows as unknown as Row[]))));

  return {
    dialect: 'mysql',
    async run(sql, params, timeoutMs) {
      const started = Date.now();
      const conn = await withDeadline(connection(), timeoutMs, 'connecting to MySQL', (late) => late.release());
      let broken = false;
      try {
        const left = Math.max(1, timeoutMs - (Date.now() - started));
        // Prepared once per connection and reused; the server re-prepares by itself when a table is altered or recreated.
        return await withDeadline(execute(conn, sql, params as (string | number)[]), left, 'the query');
      } catch (err) {
        broken = true;
        if ((err as { fatal?: boolean }).fatal !== true && (err as { name?: string }).name !== 'QueryTimeout') broken = false;
        throw err;
      } finally {
        // A timed-out or broken connection may still be busy or dead: it never goes back to the pool.
        if (broken) conn.destroy();
        else conn.release();
      }
    },
    classify(err): FailureKind {
      const e = err as { code?: string; errno?: number; fatal?: boolean };
      if (e?.code === 'ER_NO_SUCH_TABLE' || e?.errno === 1146) return 'no_table';
      if (e?.code && UNREACHABLE.has(e.code)) return 'unreachable';
      if ((e?.code && LOST.has(e.code)) || e?.fatal === true) return 'connection_lost';
      return 'other';
    },
    async close() {
      await new Promise<void>((resolve) => pool.end(() => resolve()));
    },
  };
}
