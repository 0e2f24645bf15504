import { readFileSync } from 'node:fs';
import { ConfigError } from './errors.js';

export type SqlDriver = 'mysql' | 'pgsql';

/** Where one SQL server is and who to log in as: a network address or a Unix socket. */
export interface SqlConnection {
  readonly driver: SqlDriver;
  readonly host: string;
  readonly port: number | undefined;
  readonly socketPath: string | undefined;
  readonly user: string;
  readonly password: string;
  readonly database: string;
}

const MYSQL_DEFAULT_SOCKET = '/run/mysqld/mysqld.sock';

function driverOfScheme(scheme: string, where: string): SqlDriver {
  if (scheme === 'mysql:' || scheme === 'mariadb:') return 'mysql';
  if (scheme === 'postgres:' || scheme === 'postgresql:' || scheme === 'pgsql:') return 'pgsql';
  throw new ConfigError(`${where}: unknown database scheme ${JSON.stringify(scheme)}; use mysql:// or postgres://`);
}

/** `mysql://user:password@host:port/db`, `postgres://...`; a Unix socket as `?socket=/path`. */
export function parseSqlUrl(text: string, where: string): SqlConnection {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(`${where}: not a URL: ${JSON.stringify(text.replace(/:[^:@/]*@/, ':***@'))}`);
  }
  const driver = driverOfScheme(url.protocol, where);
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!database) throw new ConfigError(`${where}: the URL names no database (…/dbname)`);
  const socketPath = url.searchParams.get('socket') ?? undefined;
  return {
    driver,
    host: url.hostname.replace(/^\[|\]$/g, '') || 'localhost',
    port: url.port ? Number(url.port) : undefined,
    socketPath,
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database,
  };
}

/**
 * One line of vpopmail's own `vpopmail.mysql` / `vpopmail.pgsql`:
 * `host|port-or-socket|user|password|db`, port 0 meaning the default. A
 * password may itself contain `|`: the first three fields and the last are
 * fixed, everything between is the password (so only the database name may
 * not contain `|`).
 */
export function parseVpopmailLine(line: string, driver: SqlDriver, where: string): SqlConnection {
  const parts = line.split('|');
  if (parts.length < 5) throw new ConfigError(`${where}: expected host|port|user|password|database, found ${parts.length} fields`);
  const [host, portField, user] = parts as [string, string, string];
  const database = parts[parts.length - 1]!;
  const password = parts.slice(3, -1).join('|');
  if (!database) throw new ConfigError(`${where}: the database name is empty`);
  let port: number | undefined;
  let socketPath: string | undefined;
  if (/^\d+$/.test(portField)) {
    const n = Number(portField);
    if (n > 65535) throw new ConfigError(`${where}: port ${n} is out of range`);
    port = n === 0 ? undefined : n;
  } else if (portField.startsWith('/')) {
    socketPath = portField;
  } else {
    throw new ConfigError(`${where}: the second field must be a port number or a socket path, got ${JSON.stringify(portField)}`);
  }
  // libmysqlclient treats "localhost" without a port as its default socket; libpq connects over TCP.
  if (driver === 'mysql' && host === 'localhost' && port === undefined && socketPath === undefined) socketPath = MYSQL_DEFAULT_SOCKET;
  return { driver, host: host || 'localhost', port, socketPath, user, password, database };
}

/** The read connection (line 1) and the write connection (line 2, else line 1) of a vpopmail SQL config file. */
export function readVpopmailConnFile(path: string, driver: SqlDriver): { read: SqlConnection; write: SqlConnection } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read vpopmail_config_file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const lines: SqlConnection[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '' || line.trimStart().startsWith('#')) return;
    lines.push(parseVpopmailLine(line, driver, `${path}:${i + 1}`));
  });
  if (lines.length === 0) throw new ConfigError(`${path}: no connection line (host|port|user|password|database)`);
  return { read: lines[0]!, write: lines[1] ?? lines[0]! };
}

/** vpopmail's file name says its driver: vpopmail.mysql or vpopmail.pgsql. */
export function driverOfConnFile(path: string): SqlDriver | undefined {
  if (/\.mysql$/i.test(path)) return 'mysql';
  if (/\.pgsql$/i.test(path)) return 'pgsql';
  return undefined;
}
