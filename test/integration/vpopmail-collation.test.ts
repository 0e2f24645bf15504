import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeRequest } from '../../src/protocol/saslauthd.js';
import { startDaemon, testsaslauthd, type RunningDaemon } from '../helpers/daemon.js';
import { rawExchange, replyString } from '../helpers/raw-client.js';
import { mkpasswdMany, VpopmailDb, type Driver, type Layout } from '../helpers/vpopmail-db.js';

/**
 * Rows a case-, accent- or pad-insensitive comparison finds for a login that
 * does not name them. `alice` is the one account each login below must not
 * become; the others exist only as near-twins of what is asked.
 */
const ROWS = [
  { name: 'alice', domain: 'example.com', password: 'alice-pw' },
  { name: 'zo\u00e9', domain: 'example.com', password: 'zoe-pw' },
  { name: 'Carol', domain: 'example.com', password: 'carol-pw' },
  { name: 'dave ', domain: 'example.com', password: 'dave-pw' },
  { name: 'stra\u00dfe', domain: 'example.com', password: 'strasse-pw' },
];
/** Many-domains only: a domain spelled otherwise in the row. */
const OTHER_DOMAIN_ROW = { name: 'erin', domain: 'Other.Org', password: 'erin-pw' };

const HASHES = new Map(mkpasswdMany([...ROWS, OTHER_DOMAIN_ROW].map((r) => ({ method: 'sha512crypt', password: r.password }))).map((h, i) => [[...ROWS, OTHER_DOMAIN_ROW][i]!.password, h]));

/** Login (as latin1 bytes on the wire), password: each must be NO, and never recorded in lastauth. */
const PHANTOMS: ReadonlyArray<[string, string]> = [
  ['alice @example.com', 'alice-pw'],
  ['alic\u00e9@example.com', 'alice-pw'],
  ['ALICE  @EXAMPLE.COM', 'alice-pw'],
  ['zoe@example.com', 'zoe-pw'],
  ['carol@example.com', 'carol-pw'],
  ['CAROL@example.com', 'carol-pw'],
  ['dave@example.com', 'dave-pw'],
  ['strasse@example.com', 'strasse-pw'],
  ['strase@example.com', 'strasse-pw'],
  ['erin@other.org', 'erin-pw'],
];

async function raw(d: RunningDaemon, login: string, password: string): Promise<string> {
  const r = await rawExchange(d.socket, encodeRequest([Buffer.from(login, 'latin1'), password, 'imap', '']));
  return r.kind === 'reply' ? replyString(r.bytes) : `(${r.kind})`;
}

interface Setup {
  readonly driver: Driver;
  readonly layout: Layout;
  readonly label: string;
  /** Turns the tables insensitive after they are made. */
  readonly alter: (db: VpopmailDb) => Promise<void>;
}

const SETUPS: Setup[] = [
  { driver: 'mysql', layout: 'many-domains', label: 'MariaDB latin1_swedish_ci (vpopmail\'s own tables)', alter: async () => undefined },
  { driver: 'mysql', layout: 'per-domain', label: 'MariaDB latin1_swedish_ci (vpopmail\'s own tables)', alter: async () => undefined },
  {
    driver: 'mysql', layout: 'many-domains', label: 'MariaDB utf8mb4_unicode_ci',
    alter: async (db) => void (await db.exec('ALTER TABLE vpopmail CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci')),
  },
  {
    driver: 'pgsql', layout: 'many-domains', label: 'PostgreSQL, a nondeterministic ICU collation and citext',
    alter: async (db) => {
      await db.exec("CREATE COLLATION ci_ai (provider = icu, locale = 'und-u-ks-level1', deterministic = false)");
      await db.exec('CREATE EXTENSION IF NOT EXISTS citext');
      await db.exec('ALTER TABLE vpopmail ALTER COLUMN pw_name TYPE VARCHAR(64) COLLATE ci_ai, ALTER COLUMN pw_domain TYPE citext');
    },
  },
  {
    driver: 'pgsql', layout: 'per-domain', label: 'PostgreSQL, citext',
    alter: async (db) => {
      await db.exec('CREATE EXTENSION IF NOT EXISTS citext');
      await db.exec('ALTER TABLE example_com ALTER COLUMN pw_name TYPE citext');
    },
  },
];

for (const s of SETUPS) {
  describe(`vpopmail on ${s.label}, ${s.layout}: only the row that names the login byte for byte counts`, () => {
    test('near-twin logins get NO and leave no lastauth row; the account itself logs in', async () => {
      const db = await VpopmailDb.create(s.driver, s.layout, ['example.com']);
      let d: RunningDaemon | undefined;
      try {
        await s.alter(db);
        const rows = s.layout === 'many-domains' ? [...ROWS, OTHER_DOMAIN_ROW] : ROWS;
        await db.addUsers(rows.map((r) => ({ name: r.name, domain: r.domain, hash: HASHES.get(r.password)! })));
        d = await startDaemon({
          config: ['mech: vpopmail', `vpopmail_sql: ${db.url}`, `vpopmail_layout: ${s.layout}`, 'vpopmail_lastauth: yes', 'cache: no', 'relay_store: none'].join('\n'),
        });

        const wrong: string[] = [];
        for (const [login, password] of PHANTOMS) {
          const viaRaw = await raw(d, login, password);
          if (viaRaw !== 'NO Invalid username') wrong.push(`raw ${JSON.stringify(login)}: ${viaRaw}`);
          // The real client sends the login as the shell gives it: UTF-8.
          const viaClient = await testsaslauthd(d.socket, login, password);
          if (!/^0: NO /.test(viaClient.stdout)) wrong.push(`testsaslauthd ${JSON.stringify(login)}: ${viaClient.stdout}`);
        }
        assert.deepEqual(wrong, []);

        assert.equal(await raw(d, 'alice@example.com', 'alice-pw'), 'OK');
        assert.match((await testsaslauthd(d.socket, 'ALICE@Example.COM', 'alice-pw')).stdout, /^0: OK/);

        const userCol = s.driver === 'mysql' ? 'user' : 'userid';
        const lastauth = async () => (await db.exec(`SELECT ${userCol} AS u, domain FROM lastauth`)).map((r) => `${String(r['u'])}@${String(r['domain'])}`).sort();
        for (let i = 0; i < 200 && (await lastauth()).length === 0; i++) await sleep(25);
        await sleep(300);
        assert.deepEqual(await lastauth(), ['alice@example.com'], 'lastauth names only the account that logged in');
        assert.equal(d.proc.exitCode, null);
      } finally {
        await d?.stop();
        await db.drop();
      }
    });
  });
}
