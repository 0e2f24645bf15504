import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { askSaslauthd } from '../../src/cli/testsaslauthd.js';
import { startDaemon, testsaslauthd, type RunningDaemon } from '../helpers/daemon.js';
import { mkpasswdMany, VpopmailDb, type Driver, type Layout, type VpopUser } from '../helpers/vpopmail-db.js';

const DOMAINS = ['example.com', 'mail-x.co.uk', 'other.org'];
const FLAGS = { NO_POP: 0x02, NO_WEBMAIL: 0x04, NO_IMAP: 0x08, NO_RELAY: 0x20, NO_SMTP: 0x800 };

interface Account extends VpopUser {
  readonly password: string;
}

/** Thousands of accounts over three domains, hashed by the real mkpasswd once for all four database set-ups. */
function makeAccounts(): Account[] {
  const plan: { method: string; count: number }[] = [
    { method: 'sha512crypt', count: 700 },
    { method: 'md5crypt', count: 700 },
    { method: 'descrypt', count: 600 },
    { method: 'yescrypt', count: 80 },
  ];
  const items = plan.flatMap((p) => Array.from({ length: p.count }, (_, i) => ({ method: p.method, password: `${p.method.slice(0, 3)}-${i}-pw` })));
  const hashes = mkpasswdMany(items);
  const accounts: Account[] = items.map((it, i) => ({
    name: `u${i}`,
    domain: DOMAINS[i % DOMAINS.length]!,
    // DES keeps only 8 characters; these passwords differ within them.
    password: it.password,
    hash: i % 5 === 0 ? `{CRYPT}${hashes[i]}` : hashes[i]!,
  }));
  for (let i = 0; i < 60; i++) accounts.push({ name: `clear${i}`, domain: DOMAINS[i % 3]!, password: `clear-${i}`, hash: '', clear: `clear-${i}` });
  const [special] = mkpasswdMany([{ method: 'sha512crypt', password: 'flag-pw' }]);
  for (const [name, flags] of Object.entries(FLAGS)) accounts.push({ name: name.toLowerCase().replace('_', ''), domain: 'example.com', password: 'flag-pw', hash: special!, flags });
  return accounts;
}

const ACCOUNTS = makeAccounts();

async function ask(d: RunningDaemon, login: string, password: string, service = 'imap', realm = '', client = ''): Promise<string> {
  return askSaslauthd(d.socket, client ? [login, password, service, realm, client] : [login, password, service, realm]);
}

/** Runs `jobs` with `width` of them in flight. */
async function inParallel<T>(items: readonly T[], width: number, job: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await job(items[next++]!);
  }));
}

for (const driver of ['mysql', 'pgsql'] as Driver[]) {
  for (const layout of ['many-domains', 'per-domain'] as Layout[]) {
    describe(`vpopmail on ${driver === 'mysql' ? 'MariaDB' : 'PostgreSQL'}, ${layout}`, () => {
      let db: VpopmailDb;
      let d: RunningDaemon;
      before(async () => {
        db = await VpopmailDb.create(driver, layout, DOMAINS);
        await db.addUsers(ACCOUNTS);
        d = await startDaemon({
          config: [
            'mech: vpopmail',
            `vpopmail_sql: ${db.url}`,
            `vpopmail_layout: ${layout}`,
            'vpopmail_default_domain: example.com',
            'vpopmail_clear_passwords: yes',
            'vpopmail_lastauth: yes',
            'cache: yes',
          ].join('\n'),
        });
      });
      after(async () => {
        await d?.stop();
        await db?.drop();
      });

      test('every account logs in with its password and not with another', async () => {
        const wrong: string[] = [];
        await inParallel(ACCOUNTS, 16, async (a) => {
          const login = `${a.name}@${a.domain}`;
          if ((await ask(d, login, a.password)) !== 'OK' && !a.flags) wrong.push(`${login}: refused`);
          if ((await ask(d, login, `${a.password}x`.replace(/^(.{0,7}).*/, '$1!'))) === 'OK') wrong.push(`${login}: wrong password accepted`);
        });
        assert.deepEqual(wrong, []);
      });

      test('the real testsaslauthd: hash kinds, login forms, default domain, realm', async () => {
        const pick = (prefix: string) => ACCOUNTS.find((a) => a.password.startsWith(prefix) && a.domain === 'example.com')!;
        for (const a of [pick('sha'), pick('md5'), pick('des'), pick('yes'), pick('clear')]) {
          assert.match((await testsaslauthd(d.socket, `${a.name}@example.com`, a.password)).stdout, /^0: OK/, a.hash);
        }
        const a = pick('sha');
        for (const login of [a.name, `${a.name.toUpperCase()}@EXAMPLE.COM`, `${a.name}%example.com`, `${a.name}/example.com`]) {
          assert.match((await testsaslauthd(d.socket, login, a.password)).stdout, /^0: OK/, login);
        }
        const elsewhere = ACCOUNTS.find((x) => x.domain === 'other.org' && !x.flags)!;
        assert.match((await testsaslauthd(d.socket, elsewhere.name, elsewhere.password, ['-r', 'other.org'])).stdout, /^0: OK/, 'the realm is the domain');
        assert.match((await testsaslauthd(d.socket, elsewhere.name, elsewhere.password)).stdout, /^0: NO/, 'the default domain is not other.org');
        assert.match((await testsaslauthd(d.socket, `${a.name}@unhosted.example`, a.password)).stdout, /^0: NO/);
        assert.equal(await ask(d, `${a.name}@unhosted.example`, a.password), 'NO Invalid username');
        assert.equal(await ask(d, `${a.name}@example.com`, 'nope'), 'NO Incorrect password');
      });

      test('each flag refuses its own services only, with a reason', async () => {
        const cases: [string, string, boolean][] = [
          ['nopop', 'pop3', false], ['nopop', 'pop', false], ['nopop', 'imap', true], ['nopop', 'smtp', true],
          ['noimap', 'imap', false], ['noimap', 'pop3', true],
          ['nosmtp', 'smtp', false], ['nosmtp', 'submission', false], ['nosmtp', 'imap', true],
          ['nowebmail', 'webmail', false], ['nowebmail', 'smtp', true],
          ['norelay', 'smtp', true], ['norelay', 'pop3', true],
        ];
        for (const [user, service, allowed] of cases) {
          const reply = await ask(d, `${user}@example.com`, 'flag-pw', service);
          assert.equal(reply, allowed ? 'OK' : 'NO Service disabled for this account', `${user} ${service}`);
          assert.equal((await testsaslauthd(d.socket, `${user}@example.com`, 'flag-pw', ['-s', service])).code, allowed ? 0 : 255);
        }
        assert.equal(await ask(d, 'nopop@example.com', 'wrong', 'pop3'), 'NO Incorrect password', 'a wrong password never learns the flags');
      });

      test('hostile logins, realms and services: no OK, no error, the tables intact', async () => {
        const a = ACCOUNTS.find((x) => x.domain === 'example.com' && !x.flags && x.hash.startsWith('$6$'))!;
        const hostile = [
          "' OR '1'='1", `${a.name}' OR '1'='1`, `${a.name}@example.com' -- `, `${a.name}@example.com\`; DROP TABLE vpopmail; --`,
          `${a.name}@example.com"; DROP TABLE "vpopmail"; --`, `x@example_com`, `${a.name}@example.com\\`, `${a.name}\x00@example.com`,
          `${a.name}@${'a'.repeat(200)}.com`, `%@example.com`, `${a.name}@vpopmail`, `${a.name}@lastauth`, `${a.name}@dir.control`, `*@example.com`, `${a.name}@example.com; SELECT 1`,
        ];
        for (const login of hostile) {
          for (const [realm, service] of [['', 'imap'], ["'; DROP TABLE lastauth; --", "imap' OR 1=1 --"], ['`x`', '"s"']]) {
            const reply = await ask(d, login, "' OR ''='", service!, realm!);
            // A NUL inside a field is already refused by the protocol decoder.
            const expected = login.includes('\x00') ? /^NO Malformed request$/ : /^NO (Invalid username|Incorrect password)$/;
            assert.match(reply, expected, `${JSON.stringify(login)} realm ${JSON.stringify(realm)}`);
          }
        }
        assert.equal(await ask(d, `${a.name}@example.com`, a.password, "imap'; DROP TABLE vpopmail; --", "x'"), 'OK');
        const [count] = await db.exec(`SELECT COUNT(*) AS n FROM ${db.tableOf('example.com')}`);
        assert.ok(Number(count!['n']) > 0);
        await db.exec('SELECT COUNT(*) AS n FROM lastauth');
        assert.doesNotMatch(d.logs(), /temporary failure/, 'no hostile string reached the database as SQL');
      });

      test('lastauth records user, domain and client address on success only', async () => {
        const a = ACCOUNTS.find((x) => x.domain === 'mail-x.co.uk' && !x.flags && x.hash.startsWith('$1$'))!;
        const userCol = driver === 'mysql' ? 'user' : 'userid';
        await db.exec(`DELETE FROM lastauth WHERE ${userCol} = ?`, [a.name]);
        assert.equal(await ask(d, `${a.name}@mail-x.co.uk`, 'bad', 'pop3', '', '198.51.100.9;4711'), 'NO Incorrect password');
        const before = Math.floor(Date.now() / 1000);
        assert.equal(await ask(d, `${a.name}@mail-x.co.uk`, a.password, 'pop3', '', '203.0.113.5;4711'), 'OK');
        let rows: Record<string, unknown>[] = [];
        for (let i = 0; i < 100 && rows.length === 0; i++) {
          rows = await db.exec(`SELECT ${userCol} AS u, domain, remote_ip, timestamp FROM lastauth WHERE ${userCol} = ?`, [a.name]);
          if (rows.length === 0) await sleep(20);
        }
        assert.equal(rows.length, 1);
        assert.deepEqual([rows[0]!['u'], rows[0]!['domain'], rows[0]!['remote_ip']], [a.name, 'mail-x.co.uk', '203.0.113.5']);
        assert.ok(Number(rows[0]!['timestamp']) >= before);
        assert.equal(await ask(d, `${a.name}@mail-x.co.uk`, a.password, 'imap', '', '2001:db8::7;993'), 'OK');
        await sleep(200);
        const again = await db.exec(`SELECT remote_ip FROM lastauth WHERE ${userCol} = ?`, [a.name]);
        assert.deepEqual(again.map((r) => r['remote_ip']), ['2001:db8::7'], 'one row per account, replaced');
      });

      test('a password or flag changed in the table counts with the next request, cache or not', async () => {
        const a = ACCOUNTS.find((x) => x.domain === 'other.org' && !x.flags && x.hash.startsWith('$6$') && x.name !== 'u2')!;
        assert.equal(await ask(d, `${a.name}@other.org`, a.password), 'OK');
        assert.equal(await ask(d, `${a.name}@other.org`, a.password), 'OK');
        const [fresh] = mkpasswdMany([{ method: 'sha512crypt', password: 'changed-pw' }]);
        const where = layout === 'many-domains' ? 'pw_name = ? AND pw_domain = ?' : 'pw_name = ?';
        const params = layout === 'many-domains' ? [a.name, 'other.org'] : [a.name];
        await db.exec(`UPDATE ${db.tableOf('other.org')} SET pw_passwd = ? WHERE ${where}`, [fresh, ...params]);
        assert.equal(await ask(d, `${a.name}@other.org`, a.password), 'NO Incorrect password');
        assert.equal(await ask(d, `${a.name}@other.org`, 'changed-pw'), 'OK');
        await db.exec(`UPDATE ${db.tableOf('other.org')} SET pw_gid = ? WHERE ${where}`, [FLAGS.NO_IMAP, ...params]);
        assert.equal(await ask(d, `${a.name}@other.org`, 'changed-pw'), 'NO Service disabled for this account');
      });
    });
  }
}

describe('vpopmail configuration', () => {
  test('clear passwords are refused unless vpopmail_clear_passwords is on; vpopmail.mysql config file', async () => {
    const db = await VpopmailDb.create('mysql', 'many-domains', DOMAINS);
    const { writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tempDir } = await import('../helpers/fixtures.js');
    const dir = tempDir();
    // vpopmail's own file format, with a '|' in a password that this user does not need: root has none.
    writeFileSync(join(dir, 'vpopmail.mysql'), `# vpopmail.mysql\nlocalhost|0|root||${db.name}\n`);
    let d: RunningDaemon | undefined;
    try {
      await db.addUsers([{ name: 'plain', domain: 'example.com', hash: '', clear: 'clear-text' }]);
      d = await startDaemon({ config: `mech: vpopmail\nvpopmail_config_file: ${join(dir, 'vpopmail.mysql')}\nvpopmail_default_domain: example.com\n` });
      assert.equal(await ask(d, 'plain', 'clear-text'), 'NO Incorrect password');
    } finally {
      await d?.stop();
      await db.drop();
    }
  });

  test('a missing vpopmail table is a temporary failure, not an unknown user', async () => {
    const db = await VpopmailDb.create('pgsql', 'per-domain', ['only.example']);
    let d: RunningDaemon | undefined;
    try {
      d = await startDaemon({ config: `mech: vpopmail\nvpopmail_sql: ${db.url}\nvpopmail_layout: many-domains\n` });
      assert.equal(await ask(d, 'x@only.example', 'y'), 'NO Temporary failure, try again later');
      await d.waitForLog(/the vpopmail table does not exist/);
    } finally {
      await d?.stop();
      await db.drop();
    }
  });
});

describe('vpopmail on PostgreSQL: a domain table recreated under the running daemon', () => {
  test('lookups prepared against the old table are re-prepared, no login sees a failure', async () => {
    const db = await VpopmailDb.create('pgsql', 'per-domain', ['recreate.test']);
    const [hash] = mkpasswdMany([{ method: 'sha512crypt', password: 're-pw' }]);
    await db.addUsers([{ name: 'rita', domain: 'recreate.test', hash: hash! }]);
    const d = await startDaemon({ config: ['mech: vpopmail', `vpopmail_sql: ${db.url}`, 'vpopmail_layout: per-domain', 'relay_store: none'].join('\n') });
    const psql = (sql: string) => execFileSync('psql', ['-q', '-h', '127.0.0.1', '-U', 'postgres', '-d', db.name, '-c', sql]);
    try {
      // Every pooled session prepares the lookup.
      const first = await Promise.all(Array.from({ length: 24 }, () => askSaslauthd(d.socket, ['rita@recreate.test', 're-pw', 'imap', ''])));
      assert.deepEqual(new Set(first), new Set(['OK']));
      // Same rows, other column types: the prepared plans' result type no longer holds.
      psql('DROP TABLE recreate_test');
      psql('CREATE TABLE recreate_test (pw_name VARCHAR(64) NOT NULL PRIMARY KEY, pw_passwd TEXT, pw_uid BIGINT, pw_gid BIGINT, pw_gecos TEXT, pw_dir TEXT, pw_shell TEXT, pw_clear_passwd TEXT)');
      psql(`INSERT INTO recreate_test VALUES ('rita', '${hash}', 89, 0, '', '/home/rita', '', '')`);
      const after = await Promise.all(Array.from({ length: 24 }, () => askSaslauthd(d.socket, ['rita@recreate.test', 're-pw', 'imap', ''])));
      assert.deepEqual(new Set(after), new Set(['OK']), d.logs());
    } finally {
      await d.stop();
      await db.drop();
    }
  });
});
