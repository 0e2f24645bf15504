import type { SqlConnection } from '../config/sql-connection.js';

export type Row = Record<string, unknown>;

/** How a driver failure bears on the answer. */
export type FailureKind =
  /** The server could not be reached at all: retrying at once is pointless. */
  | 'unreachable'
  /** An established connection broke (killed, server restarted, idle cut): a retry on a new one may succeed. */
  | 'connection_lost'
  /** The table does not exist: for a per-domain layout, a domain that is not hosted. */
  | 'no_table'
  | 'other';

/** The part that differs between MySQL/MariaDB and PostgreSQL. */
export interface SqlDriverAdapter {
  readonly dialect: 'mysql' | 'pgsql';
  /** Runs one parameterized statement on a pooled connection; a connection that times out is destroyed, not reused. */
  run(sql: string, params: readonly (string | number)[], timeoutMs: number): Promise<Row[]>;
  classify(err: unknown): FailureKind;
  close(): Promise<void>;
}

export interface PoolSettings {
  readonly connection: SqlConnection;
  readonly size: number;
  readonly connectTimeoutMs: number;
  /** Told about failures that no request is waiting for (an idle connection cut by the server). */
  readonly onIdleError: (message: string) => void;
}

export class QueryTimeout extends Error {
  override readonly name = 'QueryTimeout';
}

/**
 * Races `work` against a timer. When the timer wins, `late` receives the
 * value if it still arrives, so a connection obtained too late is given back.
 */
export async function withDeadline<T>(work: Promise<T>, ms: number, what: string, late?: (value: T) => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let expired = false;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      expired = true;
      reject(new QueryTimeout(`${what} took longer than ${ms} ms`));
    }, ms);
  });
  work.then((v) => { if (expired) late?.(v); }, () => undefined);
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** An error's text without anything a driver may have echoed from the connection settings. */
export function describeError(err: unknown, connection: SqlConnection): string {
  const e = err as { code?: unknown; message?: unknown };
  let text = typeof e?.message === 'string' && e.message !== '' ? e.message : String(err);
  if (connection.password) text = text.split(connection.password).join('***');
  const code = typeof e?.code === 'string' ? e.code : undefined;
  return code && !text.includes(code) ? `${code}: ${text}` : text;
}
