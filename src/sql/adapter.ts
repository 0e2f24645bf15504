import type { SqlConnection } from '../config/sql-connection.js';
import type { Logger } from '../log.js';
import type { PoolSettings, SqlDriverAdapter } from './client.js';
import { createMysqlAdapter } from './mysql.js';
import { createPgsqlAdapter } from './pgsql.js';

/** The pool for one connection setting, on the driver it names; shared by the vpopmail backend and the relay table. */
export function createSqlAdapter(connection: SqlConnection, size: number, timeoutMs: number, log: Logger, what: string): SqlDriverAdapter {
  const settings: PoolSettings = {
    connection,
    size,
    connectTimeoutMs: Math.min(timeoutMs, 5000),
    onIdleError: (message) => log.debug(`${what}: idle database connection closed: ${message}`),
  };
  return connection.driver === 'mysql' ? createMysqlAdapter(settings) : createPgsqlAdapter(settings);
}
