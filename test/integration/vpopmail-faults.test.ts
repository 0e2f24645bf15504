import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { askSaslauthd } from '../../src/cli/testsaslauthd.js';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { PrivateMariaDb, PrivatePgCluster } from '../helpers/private-db-server.js';
import { mkpasswdMany, VpopmailDb } from '../helpers/vpopmail-db.js';

const TEMP = 'NO Temporary failure, try again later';

/** What the load saw: every reply by kind of request, and the slowest one. */
interface Tally {
  wrongOk: string[];
  replies: Map<string, number>;
  slowestMs: number;
  errors: string[];
}

interface Probe {
  readonly login: string;
  readonly password: string;
  /** The right answer when the database can be asked. */
  readonly expect: 'OK' | 'NO';
}

/**
 * Sends probes from `width` clients until `stop()` resolves. A wrong
 * password or an unknown user answered OK is the failure this guards.
 */
async function load(socket: string, probes: readonly Probe[], width: number, stop: Promise<void>): Promise<Tally> {
  const t: Tally = { wrongOk: [], replies: new Map(), slowestMs: 0, errors: [] };
  let done = false;
  void stop.then(() => (done = true));
  let i = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (!done) {
      const p = probes[i++ % probes.length]!;
      const started = Date.now();
      let reply: string;
      try {
        reply = await askSaslauthd(socket, [p.login, p.password, 'imap', ''], 15_000);
      } catch (err) {
        // A daemon that is gone fails every request at once: this client stops rather than spin.
        t.errors.push((err as Error).message);
        return;
      }
      t.slowestMs = Math.max(t.slowestMs, Date.now() - started);
      const key = `${p.expect}:${reply}`;
      t.replies.set(key, (t.replies.get(key) ?? 0) + 1);
      if (reply === 'OK' && p.expect === 'NO') t.wrongOk.push(`${p.login}/${p.password}`);
    }
  }));
  return t;
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`${what} not within ${timeoutMs} ms`);
    await sleep(50);
  }
  return Date.now() - started;
}

const [HASH_A, HASH_B] = mkpasswdMany([{ method: 'sha512crypt', password: 'alpha-pw' }, { method: 'md5crypt', password: 'beta-pw' }]);
const USERS = [
  { name: 'alpha', domain: 'example.com', hash: HASH_A! },
  { name: 'beta', domain: 'example.com', hash: HASH_B! },
];
const PROBES: Probe[] = [
  { login: 'alpha@example.com', password: 'alpha-pw', expect: 'OK' },
  { login: 'alpha@example.com', password: 'wrong-pw', expect: 'NO' },
  { login: 'beta@example.com', password: 'beta-pw', expect: 'OK' },
  { login: 'beta@example.com', password: 'alpha-pw', expect: 'NO' },
  { login: 'ghost@example.com', password: 'alpha-pw', expect: 'NO' },
];

/** A private MariaDB (with `serverArgs`) holding vpopmail's table and USERS: the servers these tests stop and restart. */
async function mariaDbWithUsers(serverArgs: readonly string[] = []): Promise<PrivateMariaDb> {
  const server = new PrivateMariaDb(serverArgs);
  await server.start();
  server.sql('CREATE DATABASE vpopmail');
  const db = await VpopmailDb.create('mysql', 'many-domains', [], { socket: server.socket, database: 'vpopmail' });
  try {
    await db.addUsers(USERS);
  } finally {
    await db.close();
  }
  return server;
}

const config = (url: string, extra = '') => `mech: vpopmail\nvpopmail_sql: ${url}\nvpopmail_default_domain: example.com\ncache: yes\nrequest_timeout: 10\n${extra}`;

describe('vpopmail: the database server stops and comes back', () => {
  test('MariaDB stopped during a load: no wrong OK, no hang, cached logins go on, recovery without restart', async () => {
    const server = await mariaDbWithUsers();
    let d: RunningDaemon | undefined;
    try {
      d = await startDaemon({ config: config(server.url('vpopmail'), 'vpopmail_query_timeout: 2\n') });
      // alpha's success is cached; beta's is not, so during the outage only alpha can be answered.
      assert.equal(await askSaslauthd(d.socket, ['alpha@example.com', 'alpha-pw', 'imap', '']), 'OK');

      let stopLoad!: () => void;
      const loadRun = load(d.socket, PROBES.filter((p) => p.login !== 'beta@example.com' || p.expect === 'NO'), 8, new Promise((r) => (stopLoad = r)));
      await sleep(500);
      await server.stop();
      const outage = await Promise.all([
        askSaslauthd(d.socket, ['alpha@example.com', 'alpha-pw', 'imap', '']),
        askSaslauthd(d.socket, ['beta@example.com', 'beta-pw', 'imap', '']),
        askSaslauthd(d.socket, ['alpha@example.com', 'not-it', 'imap', '']),
      ]);
      assert.deepEqual(outage, ['OK', TEMP, TEMP], 'cached login served; uncached login and wrong password: try again');
      await sleep(1500);
      await server.start();
      const recoveredMs = await waitFor('beta logs in again', async () => (await askSaslauthd(d!.socket, ['beta@example.com', 'beta-pw', 'imap', ''])) === 'OK');
      await sleep(300);
      stopLoad();
      const t = await loadRun;
      assert.deepEqual(t.wrongOk, []);
      assert.deepEqual(t.errors, [], 'every request got a reply');
      assert.ok(t.slowestMs < 5000, `slowest reply ${t.slowestMs} ms`);
      assert.ok((t.replies.get(`NO:${TEMP}`) ?? 0) > 0, 'the outage was seen');
      assert.ok((t.replies.get('NO:NO Incorrect password') ?? 0) > 0, 'and answers were right before and after it');
      assert.ok(recoveredMs < 10_000);
      await d.waitForLog(/vpopmail: database unreachable/);
      await d.waitForLog(/vpopmail: database reachable again/);
      assert.equal(d.proc.exitCode, null);
    } finally {
      await d?.stop();
      await server.stop();
    }
  });

  test('PostgreSQL restarted during a load: no wrong OK, recovery without restart', async () => {
    const cluster = await PrivatePgCluster.create();
    let d: RunningDaemon | undefined;
    try {
      await cluster.start();
      cluster.sql('CREATE DATABASE vpopmail');
      const db = await VpopmailDb.create('pgsql', 'many-domains', [], { port: cluster.port, database: 'vpopmail' });
      await db.addUsers(USERS);
      await db.close();
      d = await startDaemon({ config: config(cluster.url('vpopmail')) });
      let stopLoad!: () => void;
      const loadRun = load(d.socket, PROBES, 8, new Promise((r) => (stopLoad = r)));
      await sleep(500);
      cluster.stop();
      await sleep(1000);
      assert.equal(await askSaslauthd(d.socket, ['ghost@example.com', 'x', 'imap', '']), TEMP);
      await cluster.start();
      await waitFor('beta logs in again', async () => (await askSaslauthd(d!.socket, ['beta@example.com', 'beta-pw', 'imap', ''])) === 'OK');
      await sleep(300);
      stopLoad();
      const t = await loadRun;
      assert.deepEqual(t.wrongOk, []);
      assert.deepEqual(t.errors, []);
      assert.ok((t.replies.get(`NO:${TEMP}`) ?? 0) > 0, 'the outage was seen');
      assert.equal(d.proc.exitCode, null);
    } finally {
      await d?.stop();
      cluster.drop();
    }
  });

  test("MySQL's idle timeout ('server has gone away') costs no login a failure", async () => {
    const server = await mariaDbWithUsers(['--wait-timeout=1']);
    let d: RunningDaemon | undefined;
    try {
      d = await startDaemon({ config: config(server.url('vpopmail')).replace('cache: yes', 'cache: no') });
      for (let round = 0; round < 3; round++) {
        assert.equal(await askSaslauthd(d.socket, ['beta@example.com', 'beta-pw', 'imap', '']), 'OK', `round ${round}`);
        await sleep(2200);
      }
      assert.doesNotMatch(d.logs(), /temporary failure/);
    } finally {
      await d?.stop();
      await server.stop();
    }
  });
});

for (const driver of ['mysql', 'pgsql'] as const) {
  describe(`vpopmail on the machine's ${driver === 'mysql' ? 'MariaDB' : 'PostgreSQL'}: connections cut and queries stalled`, () => {
    let db: VpopmailDb;
    let d: RunningDaemon | undefined;
    after(async () => {
      await d?.stop();
      await db?.drop();
    });

    test(`${driver === 'mysql' ? 'KILL' : 'pg_terminate_backend'} of the daemon's connections during a load`, async () => {
      db = await VpopmailDb.create(driver, 'many-domains', ['example.com']);
      await db.addUsers(USERS);
      d = await startDaemon({ config: config(db.url, 'vpopmail_pool_size: 4\n') });
      let stopLoad!: () => void;
      const loadRun = load(d.socket, PROBES, 8, new Promise((r) => (stopLoad = r)));
      let killed = 0;
      for (let i = 0; i < 30; i++) {
        killed += await db.killDaemonConnections();
        await sleep(50);
      }
      // After the cutting stops, every answer must be the right one.
      await sleep(300);
      const calm = await Promise.all(PROBES.map((p) => askSaslauthd(d!.socket, [p.login, p.password, 'imap', ''])));
      stopLoad();
      const t = await loadRun;
      assert.ok(killed > 10, `connections cut: ${killed}`);
      assert.deepEqual(t.wrongOk, []);
      assert.deepEqual(t.errors, []);
      assert.deepEqual(calm, ['OK', 'NO Incorrect password', 'OK', 'NO Incorrect password', 'NO Invalid username']);
      assert.equal(d.proc.exitCode, null);
    });

    test('a query stalled by a table lock ends in a temporary failure after vpopmail_query_timeout, then service resumes', async () => {
      await d!.stop();
      d = await startDaemon({ config: config(db.url, 'vpopmail_query_timeout: 0.5\n') });
      assert.equal(await askSaslauthd(d.socket, ['alpha@example.com', 'alpha-pw', 'imap', '']), 'OK');
      const locker = await VpopmailDb.attach(db);
      try {
        await locker.lockUserTable();
        const started = Date.now();
        const replies = await Promise.all([
          askSaslauthd(d.socket, ['beta@example.com', 'beta-pw', 'imap', '']),
          askSaslauthd(d.socket, ['alpha@example.com', 'wrong-pw', 'imap', '']),
          askSaslauthd(d.socket, ['alpha@example.com', 'alpha-pw', 'imap', '']),
        ]);
        const took = Date.now() - started;
        assert.deepEqual(replies, [TEMP, TEMP, 'OK'], 'uncached and wrong: try again; cached: served');
        assert.ok(took < 3000, `answered in ${took} ms`);
      } finally {
        await locker.close();
      }
      assert.equal(await askSaslauthd(d.socket, ['beta@example.com', 'beta-pw', 'imap', '']), 'OK');
      assert.equal(await askSaslauthd(d.socket, ['beta@example.com', 'wrong', 'imap', '']), 'NO Incorrect password');
    });
  });
}
