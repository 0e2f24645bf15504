import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createVpopmailBackend } from '../../src/backends/vpopmail/backend.js';
import { askSaslauthd } from '../../src/cli/testsaslauthd.js';
import { parseVpopmailConfig } from '../../src/config/vpopmail.js';
import type { Logger } from '../../src/log.js';
import { encodeRequest } from '../../src/protocol/saslauthd.js';
import { SqlRelayStore } from '../../src/relay/stores/sql-store.js';
import { startDaemon, testsaslauthd, type RunningDaemon } from '../helpers/daemon.js';
import { PrivateMariaDb } from '../helpers/private-db-server.js';
import { rawExchange, replyString } from '../helpers/raw-client.js';
import { mkpasswdMany, VpopmailDb, type Layout } from '../helpers/vpopmail-db.js';

/**
 * Server modes under which client-side escaping (backslash before a quote)
 * stops protecting a string literal, or where `"` quotes identifiers.
 */
const MODES = ['NO_BACKSLASH_ESCAPES', 'ANSI_QUOTES', 'NO_BACKSLASH_ESCAPES,ANSI_QUOTES'];

/**
 * `aaron` sorts first, so an injected `OR 1=1` reads his row. The others use
 * characters vpopmail accepts in a name, quotes and LIKE wildcards included,
 * and must keep logging in whatever the server's mode.
 */
const ACCOUNTS: ReadonlyArray<{ name: string; password: string }> = [
  { name: 'aaron', password: 'aaron-pw' },
  { name: "o'brien", password: 'obrien-pw' },
  { name: 'bob_', password: 'bob-pw' },
  { name: 'b.c', password: 'bc-pw' },
  { name: "d{e}f#g=h?i~j|k$l&m`n^p*q+r!s-t'", password: 'specials-pw' },
];
const HASHES = mkpasswdMany(ACCOUNTS.map((a) => ({ method: 'sha512crypt', password: a.password })));
const USERS = ACCOUNTS.map((a, i) => ({ name: a.name, domain: 'example.com', hash: HASHES[i]! }));

/** `{plain}pwned` as a hex literal: a row an injected UNION would invent. */
const PWNED_HEX = '0x7b706c61696e7d70776e6564';

function unionAttacks(): string[] {
  const out: string[] = [];
  for (let columns = 4; columns <= 7; columns++) {
    for (let at = 0; at < 3; at++) {
      const values = Array.from({ length: columns }, (_, i) => (i === at ? PWNED_HEX : '0')).join(',');
      out.push(String.raw`x\' union select ${values} -- @example.com`);
    }
  }
  return out;
}

const ATTACKS: readonly string[] = [
  String.raw`x\' union select 0x7b706c61696e7d70776e6564,0,0,0 -- @example.com`,
  String.raw`x\' or 1=1 -- @example.com`,
  ...unionAttacks(),
  String.raw`x\' or 1=1 #@example.com`,
  String.raw`x\'or(1)=1;#@example.com`,
  String.raw`x\' or 1=1 -- -@example.com`,
  String.raw`x\'; drop table lastauth; #@example.com`,
  String.raw`x\'/**/or/**/1=1/*@example.com`,
  // Only characters a vpopmail name may hold: the value itself must never become SQL.
  "x'+0#@example.com",
  "x'|0#@example.com",
  "x'-0#@example.com",
  "'='#@example.com",
  // LIKE wildcards match nothing under '='.
  String.raw`x\' or pw_name like 0x25 #@example.com`,
  '_aron@example.com',
  'a_ron@example.com',
  '_____@example.com',
  'bo__@example.com',
  '%@example.com',
  'aaro%@example.com',
  // Double quotes: strings by default, identifiers under ANSI_QUOTES.
  'x" or ""="@example.com',
  String.raw`x\" or 1=1 #@example.com`,
  'x" or 1=1 #@example.com',
  // Backslashes in every count, and at the end of the value.
  String.raw`x\\' or 1=1 #@example.com`,
  String.raw`x\\\' or 1=1 #@example.com`,
  String.raw`x\@example.com`,
  String.raw`aaron\@example.com`,
  'aaron @example.com',
  'alic\u00e9@example.com',
];

/** What vpopmail can name an account with: the only pw_name values the server may ever be asked for. */
const VPOPMAIL_NAME = /^[a-z0-9!#$%&'*+\-/=?^_`{|}~.]+$/;

const quietLog: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, close: () => undefined };

async function raw(d: RunningDaemon, login: string, password: string, realm = ''): Promise<string> {
  const r = await rawExchange(d.socket, encodeRequest([Buffer.from(login, 'latin1'), password, 'imap', realm]));
  return r.kind === 'reply' ? replyString(r.bytes) : `(${r.kind})`;
}

async function until(what: string, ok: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(25);
  }
}

const BACKSLASH_ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', '0': '\0', Z: '\x1a', b: '\b' };

/**
 * The pw_name values of the lookups in the server's general query log, read
 * from byte `from` on; the log writes each executed statement with its
 * values as literals, escaped the way the server's sql_mode reads them.
 */
function askedNames(server: PrivateMariaDb, from: number, noBackslashEscapes: boolean): string[] {
  server.sql('FLUSH GENERAL LOGS');
  const text = readFileSync(join(server.dir, 'general.log')).subarray(from).toString('latin1');
  const literal = noBackslashEscapes ? /pw_name = '((?:''|[^'])*)'/g : /pw_name = '((?:''|\\.|[^'\\])*)'/g;
  return [...text.matchAll(literal)].map((m) => {
    const v = m[1]!.replace(/''/g, "'");
    return noBackslashEscapes ? v : v.replace(/\\(.)/g, (_, c: string) => BACKSLASH_ESCAPES[c] ?? c);
  });
}

/** Everything a test could damage: the table list and every row, as text. */
async function snapshot(db: VpopmailDb): Promise<string> {
  const tables = (await db.exec('SHOW TABLES')).map((r) => String(Object.values(r)[0]));
  const parts = [tables.join(',')];
  for (const t of tables) parts.push(JSON.stringify(await db.exec(`SELECT * FROM \`${t}\` ORDER BY 1, 2`)));
  return parts.join('\n');
}

describe('vpopmail SQL on MariaDB servers in NO_BACKSLASH_ESCAPES and ANSI_QUOTES modes', () => {
  let server: PrivateMariaDb;
  before(() => {
    server = new PrivateMariaDb();
  });
  after(async () => {
    await server?.stop();
  });

  for (const mode of MODES) {
    describe(`sql_mode=${mode}`, () => {
      before(async () => {
        await server.stop();
        await server.start([`--sql-mode=${mode}`, '--general-log=1', `--general-log-file=${join(server.dir, 'general.log')}`]);
        const modes = (list: string) => list.trim().split(',').sort();
        assert.deepEqual(modes(server.sql('SELECT @@GLOBAL.sql_mode')), modes(mode));
      });

      for (const layout of ['many-domains', 'per-domain'] as Layout[]) {
        test(`${layout}: injection logins get NO through testsaslauthd and the raw socket; accounts still log in; tables intact`, async () => {
          const db = await VpopmailDb.create('mysql', layout, ['example.com'], { socket: server.socket });
          let d: RunningDaemon | undefined;
          try {
            await db.addUsers(USERS);
            const before = await snapshot(db);
            const logFrom = statSync(join(server.dir, 'general.log')).size;
            d = await startDaemon({
              config: ['mech: vpopmail', `vpopmail_sql: ${db.url}`, `vpopmail_layout: ${layout}`, 'vpopmail_default_domain: example.com', 'vpopmail_lastauth: yes', 'cache: no', 'relay_store: none'].join('\n'),
            });

            const wrong: string[] = [];
            for (const login of ATTACKS) {
              for (const password of ['pwned', 'aaron-pw', 'bob-pw']) {
                const viaRaw = await raw(d, login, password);
                if (viaRaw !== 'NO Invalid username') wrong.push(`raw ${JSON.stringify(login)} / ${password}: ${viaRaw}`);
                const viaClient = await testsaslauthd(d.socket, login, password);
                if (viaClient.code !== 255 || !/^0: NO /.test(viaClient.stdout)) wrong.push(`testsaslauthd ${JSON.stringify(login)} / ${password}: ${viaClient.code} ${viaClient.stdout}`);
              }
              // The same local part with the domain from the realm.
              const local = login.replace(/@example\.com$/, '');
              const viaRealm = await raw(d, local, 'aaron-pw', 'example.com');
              if (!/^NO (Invalid username)$/.test(viaRealm)) wrong.push(`raw ${JSON.stringify(local)} realm example.com: ${viaRealm}`);
            }
            assert.deepEqual(wrong, []);
            assert.equal(d.proc.exitCode, null, 'the daemon is still running');
            assert.doesNotMatch(d.logs(), /database error|temporary failure/i, 'no login reached the server as SQL');
            const asked = askedNames(server, logFrom, mode.includes('NO_BACKSLASH_ESCAPES'));
            assert.ok(asked.includes("x'+0#") && asked.includes('_____'), 'the log shows the lookups');
            assert.deepEqual(asked.filter((n) => !VPOPMAIL_NAME.test(n)), [], 'only names vpopmail could have made reach the server');

            for (const a of ACCOUNTS) {
              assert.match((await testsaslauthd(d.socket, `${a.name}@example.com`, a.password)).stdout, /^0: OK/, a.name);
              assert.equal(await raw(d, a.name, a.password, 'example.com'), 'OK', a.name);
              assert.equal(await raw(d, `${a.name}@example.com`, `${a.password}-not`), 'NO Incorrect password', a.name);
            }

            // lastauth holds exactly the accounts that logged in, names stored as they are.
            const names = ACCOUNTS.map((a) => a.name).sort();
            const lastauth = async () => (await db.exec('SELECT user, domain FROM lastauth')).map((r) => `${String(r['user'])}@${String(r['domain'])}`).sort();
            await until('lastauth rows', async () => (await lastauth()).length >= names.length);
            await sleep(200);
            assert.deepEqual(await lastauth(), names.map((n) => `${n}@example.com`));
            await db.exec('DELETE FROM lastauth');
            assert.equal(await snapshot(db), before, 'no table or row changed');
          } finally {
            await d?.stop();
            await db.drop();
          }
        });
      }

      test('client addresses in lastauth and relay grants are stored literally, whatever they hold', async () => {
        // The daemon's front doors only pass well-formed addresses; the store must not depend on that.
        const HOSTILE = [
          String.raw`x\',0),(0x72,0x72,0x72,0)#`,
          String.raw`x\',0),(0x31,0x31)#`,
          "o'brien",
          'a"b',
          String.raw`a\b`,
          String.raw`tail\\`,
          '%',
          '1.2.3._',
          '-- x',
          '/* y */',
          '#z',
        ];
        const db = await VpopmailDb.create('mysql', 'many-domains', ['example.com'], { socket: server.socket });
        const conf = new Map([['vpopmail_sql', db.url], ['vpopmail_lastauth', 'yes']]);
        const v = parseVpopmailConfig((k) => (conf.has(k) ? { value: conf.get(k)!, where: 'test' } : undefined), '/', {});
        const backend = createVpopmailBackend(v, quietLog);
        const store = new SqlRelayStore(v, quietLog);
        try {
          HOSTILE.forEach((ip, i) => backend.recordLogin!({ login: `user${i}@example.com`, service: 'imap', realm: '', clientIp: ip }));
          const rows = async () => (await db.exec('SELECT user, domain, remote_ip FROM lastauth')).map((r) => `${String(r['user'])}@${String(r['domain'])} ${String(r['remote_ip'])}`).sort();
          await until('lastauth rows', async () => (await rows()).length >= HOSTILE.length);
          await sleep(200);
          assert.deepEqual(await rows(), HOSTILE.map((ip, i) => `user${i}@example.com ${ip}`).sort());

          for (const [i, ip] of HOSTILE.entries()) await store.put(ip, 1_700_000_000 + i);
          const byIp = (a: [string, number], b: [string, number]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
          assert.deepEqual((await store.entries()).sort(byIp), HOSTILE.map((ip, i) => [ip, 1_700_000_000 + i] as [string, number]).sort(byIp));
          for (const [i, ip] of HOSTILE.entries()) assert.equal(await store.get(ip), 1_700_000_000 + i, ip);
          assert.equal(await store.get('1.2.3.4'), undefined);
          assert.deepEqual((await store.remove(HOSTILE)).sort(), [...HOSTILE].sort());
          assert.deepEqual(await store.entries(), []);
        } finally {
          await backend.close?.();
          await store.close();
          await db.drop();
        }
      });
    });
  }
});

describe('vpopmail on MariaDB: prepared lookups and a table dropped or recreated under the running daemon', () => {
  const login = (d: RunningDaemon, n = 24) => Promise.all(Array.from({ length: n }, () => askSaslauthd(d.socket, ['rita@recreate.test', 're-pw', 'imap', ''])));
  const [hash] = mkpasswdMany([{ method: 'sha512crypt', password: 're-pw' }]);
  const mariadb = (db: VpopmailDb, sql: string) => execFileSync('mariadb', ['-uroot', '-e', sql, db.name]);

  test('per-domain: a recreated table with other column types answers right at once; a dropped one is an unhosted domain', async () => {
    const db = await VpopmailDb.create('mysql', 'per-domain', ['recreate.test']);
    await db.addUsers([{ name: 'rita', domain: 'recreate.test', hash: hash! }]);
    const d = await startDaemon({ config: ['mech: vpopmail', `vpopmail_sql: ${db.url}`, 'vpopmail_layout: per-domain', 'relay_store: none'].join('\n') });
    try {
      // Every pooled connection prepares the lookup.
      assert.deepEqual(new Set(await login(d)), new Set(['OK']));
      mariadb(db, 'DROP TABLE recreate_test; CREATE TABLE recreate_test (pw_shell TEXT, pw_gid BIGINT, pw_dir TEXT, pw_passwd TEXT, pw_name VARCHAR(64) NOT NULL PRIMARY KEY, pw_uid BIGINT, pw_gecos TEXT, pw_clear_passwd TEXT) DEFAULT CHARSET=latin1');
      mariadb(db, `INSERT INTO recreate_test (pw_name, pw_passwd, pw_gid, pw_dir, pw_shell) VALUES ('rita', '${hash}', 0, '/home/rita', '')`);
      assert.deepEqual(new Set(await login(d)), new Set(['OK']), d.logs());
      mariadb(db, `UPDATE recreate_test SET pw_gid = 8`);
      assert.deepEqual(new Set(await login(d)), new Set(['NO Service disabled for this account']), 'the new row is read, not a remembered one');
      mariadb(db, 'DROP TABLE recreate_test');
      assert.deepEqual(new Set(await login(d)), new Set(['NO Invalid username']));
      mariadb(db, `CREATE TABLE recreate_test (pw_name VARCHAR(64) NOT NULL PRIMARY KEY, pw_passwd VARCHAR(128), pw_uid INT, pw_gid INT, pw_gecos VARCHAR(64), pw_dir VARCHAR(160), pw_shell VARCHAR(20), pw_clear_passwd VARCHAR(128)) DEFAULT CHARSET=latin1`);
      mariadb(db, `INSERT INTO recreate_test VALUES ('rita', '${hash}', 89, 0, '', '/home/rita', '', '')`);
      assert.deepEqual(new Set(await login(d)), new Set(['OK']), d.logs());
    } finally {
      await d.stop();
      await db.drop();
    }
  });

  test('many-domains: while the vpopmail table is gone every answer is a temporary failure, then logins work again', async () => {
    const db = await VpopmailDb.create('mysql', 'many-domains', ['recreate.test']);
    await db.addUsers([{ name: 'rita', domain: 'recreate.test', hash: hash! }]);
    const d = await startDaemon({ config: ['mech: vpopmail', `vpopmail_sql: ${db.url}`, 'relay_store: none'].join('\n') });
    try {
      assert.deepEqual(new Set(await login(d)), new Set(['OK']));
      mariadb(db, 'RENAME TABLE vpopmail TO vpopmail_old');
      assert.deepEqual(new Set(await login(d)), new Set(['NO Temporary failure, try again later']));
      mariadb(db, 'RENAME TABLE vpopmail_old TO vpopmail');
      assert.deepEqual(new Set(await login(d)), new Set(['OK']), d.logs());
    } finally {
      await d.stop();
      await db.drop();
    }
  });
});
