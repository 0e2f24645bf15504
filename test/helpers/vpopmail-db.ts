import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createConnection, type Connection } from 'mysql2/promise';
import pg from 'pg';

export type Driver = 'mysql' | 'pgsql';
export type Layout = 'many-domains' | 'per-domain';

export interface VpopUser {
  readonly name: string;
  readonly domain: string;
  readonly hash: string;
  readonly clear?: string;
  readonly flags?: number;
  readonly dir?: string;
}

/** The tables as vpopmail's vmysql.h / vpgsql.h create them (vpopmail 5.6, latin1 on MySQL). */
function schema(driver: Driver, layout: Layout, domains: readonly string[]): string[] {
  const userCols = (withDomain: boolean) =>
    `pw_name VARCHAR(64) NOT NULL, ${withDomain ? 'pw_domain VARCHAR(96) NOT NULL, ' : ''}pw_passwd VARCHAR(128), pw_uid INT, pw_gid INT, ` +
    `pw_gecos VARCHAR(64), pw_dir VARCHAR(160), pw_shell VARCHAR(20), pw_clear_passwd VARCHAR(128), ` +
    `PRIMARY KEY (pw_name${withDomain ? ', pw_domain' : ''})`;
  const tail = driver === 'mysql' ? ' DEFAULT CHARSET=latin1' : '';
  const q = (name: string) => (driver === 'mysql' ? `\`${name}\`` : `"${name.toLowerCase()}"`);
  const userTables = layout === 'many-domains'
    ? [`CREATE TABLE ${q('vpopmail')} (${userCols(true)})${tail}`]
    : domains.map((d) => `CREATE TABLE ${q(d.replace(/[.-]/g, '_'))} (${userCols(false)})${tail}`);
  const userCol = driver === 'mysql' ? 'user' : 'userid';
  return [
    ...userTables,
    `CREATE TABLE lastauth (${userCol} VARCHAR(32) NOT NULL, domain VARCHAR(96) NOT NULL, remote_ip VARCHAR(39) NOT NULL, timestamp BIGINT DEFAULT 0 NOT NULL, PRIMARY KEY (${userCol}, domain))${tail}`,
    `CREATE TABLE relay (ip_addr VARCHAR(${driver === 'mysql' ? 39 : 18}) NOT NULL DEFAULT '', timestamp VARCHAR(12), PRIMARY KEY (ip_addr))${tail}`,
  ];
}

/** Where the database lives: the machine's servers by default, or a test's private one. */
export interface DbTarget {
  readonly socket?: string;
  readonly port?: number;
  /** An existing database: used as is and never dropped. */
  readonly database?: string;
}

const MACHINE_SOCKET = '/run/mysqld/mysqld.sock';

/** A throw-away database on MariaDB or PostgreSQL, with vpopmail's tables in one layout. */
export class VpopmailDb {
  readonly name: string;
  private my: Connection | undefined;
  private pgc: pg.Client | undefined;

  private constructor(readonly driver: Driver, readonly layout: Layout, private readonly target: DbTarget) {
    this.name = target.database ?? `authmux_t_${randomBytes(4).toString('hex')}`;
  }

  private async open(): Promise<void> {
    if (this.driver === 'mysql') {
      this.my = await createConnection({ socketPath: this.target.socket ?? MACHINE_SOCKET, user: 'root', database: this.name, charset: 'LATIN1_SWEDISH_CI' });
    } else {
      this.pgc = new pg.Client({ host: '127.0.0.1', port: this.target.port ?? 5432, user: 'postgres', database: this.name });
      await this.pgc.connect();
    }
  }

  static async create(driver: Driver, layout: Layout, domains: readonly string[], target: DbTarget = {}): Promise<VpopmailDb> {
    const db = new VpopmailDb(driver, layout, target);
    if (!target.database) {
      if (driver === 'mysql') {
        const admin = await createConnection({ socketPath: target.socket ?? MACHINE_SOCKET, user: 'root' });
        await admin.query(`CREATE DATABASE ${db.name}`);
        await admin.end();
      } else {
        const admin = new pg.Client({ host: '127.0.0.1', port: target.port ?? 5432, user: 'postgres', database: 'postgres' });
        await admin.connect();
        await admin.query(`CREATE DATABASE ${db.name}`);
        await admin.end();
      }
    }
    await db.open();
    for (const st of schema(driver, layout, domains)) await db.exec(st);
    return db;
  }

  /** A second session on the same database (to hold a lock, say). */
  static async attach(other: VpopmailDb): Promise<VpopmailDb> {
    const db = new VpopmailDb(other.driver, other.layout, { ...other.target, database: other.name });
    await db.open();
    return db;
  }

  /** Holds an exclusive lock on the user table until close(): every read of it waits. */
  async lockUserTable(): Promise<void> {
    if (this.driver === 'mysql') await this.exec('LOCK TABLES vpopmail WRITE');
    else {
      await this.exec('BEGIN');
      await this.exec('LOCK TABLE vpopmail IN ACCESS EXCLUSIVE MODE');
    }
  }

  async close(): Promise<void> {
    await this.my?.end().catch(() => undefined);
    await this.pgc?.end().catch(() => undefined);
  }

  /** The vpopmail_sql URL the daemon uses: as root / postgres, over TCP for PostgreSQL and the socket for MariaDB. */
  get url(): string {
    return this.driver === 'mysql'
      ? `mysql://root@localhost/${this.name}?socket=${this.target.socket ?? MACHINE_SOCKET}`
      : `postgres://postgres@127.0.0.1:${this.target.port ?? 5432}/${this.name}`;
  }

  async exec(sql: string, params: readonly unknown[] = []): Promise<Record<string, unknown>[]> {
    if (this.my) {
      // Server-side parameters: mysql2's client-side escaping is wrong on a server in NO_BACKSLASH_ESCAPES mode.
      const [rows] = params.length > 0 ? await this.my.execute(sql, params as (string | number)[]) : await this.my.query(sql);
      return Array.isArray(rows) ? (rows as Record<string, unknown>[]) : [];
    }
    let n = 0;
    const text = sql.replace(/\?/g, () => `$${++n}`);
    return (await this.pgc!.query(text, params as unknown[])).rows as Record<string, unknown>[];
  }

  tableOf(domain: string): string {
    const t = this.layout === 'many-domains' ? 'vpopmail' : domain.replace(/[.-]/g, '_');
    return this.driver === 'mysql' ? `\`${t}\`` : `"${t.toLowerCase()}"`;
  }

  /** Inserts users in batches. */
  async addUsers(users: readonly VpopUser[]): Promise<void> {
    const byTable = new Map<string, VpopUser[]>();
    for (const u of users) byTable.set(this.tableOf(u.domain), [...(byTable.get(this.tableOf(u.domain)) ?? []), u]);
    for (const [table, list] of byTable) {
      for (let i = 0; i < list.length; i += 500) {
        const chunk = list.slice(i, i + 500);
        const many = this.layout === 'many-domains';
        const cols = `pw_name, ${many ? 'pw_domain, ' : ''}pw_passwd, pw_uid, pw_gid, pw_gecos, pw_dir, pw_shell, pw_clear_passwd`;
        const row = many ? '(?, ?, ?, ?, ?, ?, ?, ?, ?)' : '(?, ?, ?, ?, ?, ?, ?, ?)';
        const params = chunk.flatMap((u) => [
          u.name, ...(many ? [u.domain] : []), u.hash, 89, u.flags ?? 0, u.name, u.dir ?? `/home/vpopmail/domains/${u.domain}/${u.name}`, 'NOQUOTA', u.clear ?? '',
        ]);
        await this.exec(`INSERT INTO ${table} (${cols}) VALUES ${chunk.map(() => row).join(', ')}`, params);
      }
    }
  }

  /** The server-side ids of the connections the daemon holds to this database. */
  async daemonConnectionIds(): Promise<number[]> {
    if (this.driver === 'mysql') {
      const rows = await this.exec('SELECT id FROM information_schema.processlist WHERE db = ? AND id <> CONNECTION_ID()', [this.name]);
      return rows.map((r) => Number(r['id']));
    }
    const rows = await this.exec('SELECT pid FROM pg_stat_activity WHERE datname = ? AND pid <> pg_backend_pid()', [this.name]);
    return rows.map((r) => Number(r['pid']));
  }

  /** Cuts the daemon's connections from the server side: MariaDB KILL, PostgreSQL pg_terminate_backend. */
  async killDaemonConnections(): Promise<number> {
    const ids = await this.daemonConnectionIds();
    for (const id of ids) {
      try {
        if (this.driver === 'mysql') await this.exec(`KILL ${Number(id)}`);
        else await this.exec('SELECT pg_terminate_backend(?)', [id]);
      } catch {
        // Already gone.
      }
    }
    return ids.length;
  }

  async drop(): Promise<void> {
    if (this.target.database) return this.close();
    if (this.my) {
      await this.my.query(`DROP DATABASE IF EXISTS ${this.name}`).catch(() => undefined);
      await this.my.end().catch(() => undefined);
    } else if (this.pgc) {
      await this.pgc.end().catch(() => undefined);
      const admin = new pg.Client({ host: '127.0.0.1', port: this.target.port ?? 5432, user: 'postgres', database: 'postgres' });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS ${this.name} WITH (FORCE)`).catch(() => undefined);
      await admin.end();
    }
  }
}

/**
 * Hashes made by the real mkpasswd (libxcrypt), many in one shell so that
 * thousands cost seconds: each line is "method password".
 */
export function mkpasswdMany(items: readonly { method: string; password: string }[]): string[] {
  if (items.length === 0) return [];
  const script = 'while read -r m p; do printf %s "$p" | mkpasswd -m "$m" --stdin || exit 1; done';
  const input = items.map((i) => `${i.method} ${i.password}\n`).join('');
  const out = execFileSync('sh', ['-c', script], { input, maxBuffer: 64 << 20 }).toString().trim().split('\n');
  if (out.length !== items.length) throw new Error(`mkpasswd made ${out.length} hashes for ${items.length} passwords`);
  return out;
}
