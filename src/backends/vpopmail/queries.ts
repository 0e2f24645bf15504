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

/** The user row, with values only ever passed as parameters; undefined when the domain has no table of its own. */
export function selectUser(dialect: Dialect, layout: Layout, addr: VpopmailAddress, withClear: boolean): Statement | undefined {
  const columns = `pw_passwd, pw_gid, pw_dir, pw_shell${withClear ? ', pw_clear_passwd' : ''}`;
  if (layout === 'many-domains') {
    return {
      sql: `SELECT ${columns} FROM ${quotedTable(dialect, 'vpopmail')} WHERE pw_name = ${placeholder(dialect, 1)} AND pw_domain = ${placeholder(dialect, 2)} LIMIT 1`,
      params: [addr.user, addr.domain],
    };
  }
  const table = perDomainTable(addr.domain);
  if (table === undefined) return undefined;
  return {
    sql: `SELECT ${columns} FROM ${quotedTable(dialect, table)} WHERE pw_name = ${placeholder(dialect, 1)} LIMIT 1`,
    params: [addr.user],
  };
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
