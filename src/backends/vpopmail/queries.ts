import type { Row } from '../../sql/client.js';
import { perDomainTable, type VpopmailAddress } from './login.js';

export type Layout = 'many-domains' | 'per-domain';
export type Dialect = 'mysql' | 'pgsql';

export interface Statement {
  readonly sql: string;
  readonly params: readonly (string | number)[];
}

function placeholder(dialect: Dialect, n: number): string {
  return dialect === 'mysql' ? '?' : `$${n}`;
}

/** A table name made only from a domain that passed parseVpopmailLogin's shape check. */
function quotedTable(dialect: Dialect, name: string): string {
  return dialect === 'mysql' ? `\`${name}\`` : `"${name.toLowerCase()}"`;
}

/**
 * The user's rows, with values only ever passed as parameters; undefined when
 * the domain has no table of its own. The key columns come back so that
 * exactRow can check them: the server's `=` follows the column's collation.
 */
export function selectUser(dialect: Dialect, layout: Layout, addr: VpopmailAddress, withClear: boolean): Statement | undefined {
  const columns = `pw_passwd, pw_gid, pw_dir, pw_shell${withClear ? ', pw_clear_passwd' : ''}`;
  if (layout === 'many-domains') {
    return {
      sql: `SELECT pw_name, pw_domain, ${columns} FROM ${quotedTable(dialect, 'vpopmail')} WHERE pw_name = ${placeholder(dialect, 1)} AND pw_domain = ${placeholder(dialect, 2)}`,
      params: [addr.user, addr.domain],
    };
  }
  const table = perDomainTable(addr.domain);
  if (table === undefined) return undefined;
  return {
    sql: `SELECT pw_name, ${columns} FROM ${quotedTable(dialect, table)} WHERE pw_name = ${placeholder(dialect, 1)}`,
    params: [addr.user],
  };
}

function keyText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  return Buffer.isBuffer(v) ? v.toString('latin1') : undefined;
}

/**
 * The row whose pw_name (and pw_domain) is exactly what was asked. A case-,
 * accent- or pad-insensitive collation (MySQL's `_ci` PAD SPACE defaults,
 * citext, a nondeterministic PostgreSQL collation) also returns rows for
 * `Alice`, `alicé` or `alice `: such a row is another account, and counts as
 * no such user. Several rows only come from a table without vpopmail's key.
 */
export function exactRow(rows: readonly Row[], layout: Layout, addr: VpopmailAddress): Row | undefined {
  return rows.find((r) => keyText(r['pw_name']) === addr.user && (layout === 'per-domain' || keyText(r['pw_domain']) === addr.domain));
}

/** vpopmail's lastauth row: REPLACE on MySQL; on PostgreSQL the column is `userid` and the upsert is ON CONFLICT. */
export function upsertLastauth(dialect: Dialect, addr: VpopmailAddress, remoteIp: string, epochSeconds: number): Statement {
  const params = [addr.user, addr.domain, remoteIp, epochSeconds];
  if (dialect === 'mysql') {
    return { sql: 'REPLACE INTO lastauth (user, domain, remote_ip, timestamp) VALUES (?, ?, ?, ?)', params };
  }
  return {
    sql: 'INSERT INTO lastauth (userid, domain, remote_ip, timestamp) VALUES ($1, $2, $3, $4) ' +
      'ON CONFLICT (userid, domain) DO UPDATE SET remote_ip = EXCLUDED.remote_ip, timestamp = EXCLUDED.timestamp',
    params,
  };
}
