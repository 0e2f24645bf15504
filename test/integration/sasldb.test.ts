import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { encodeRequest } from '../../src/protocol/saslauthd.js';
import { BIN, run, startDaemon, testsaslauthd, type RunningDaemon } from '../helpers/daemon.js';
import { tempDir } from '../helpers/fixtures.js';
import { rawExchange, replyString } from '../helpers/raw-client.js';
import { dbLoadSasldb, dumpPairs, saslpasswd2, saslpasswd2Bulk, saslpasswd2Delete } from '../helpers/sasldb.js';

const pw = (s: string) => Buffer.from(s, 'utf8');

async function reply(socket: string, fields: (string | Buffer)[]): Promise<string> {
  const r = await rawExchange(socket, encodeRequest(fields));
  return r.kind === 'reply' ? replyString(r.bytes) : `(${r.kind})`;
}

describe('saslauthd -a sasldb over a sasldb2 written by saslpasswd2', () => {
  let dir: string;
  let file: string;
  let d: RunningDaemon;
  before(async () => {
    dir = tempDir();
    file = join(dir, 'sasldb2');
    saslpasswd2(file, [
      { user: 'alice', realm: 'example.com', password: pw('secret1') },
      { user: 'bob', realm: 'example.com', password: pw('pw-bob2') },
      { user: 'alice', realm: 'other.org', password: pw('other-pw') },
      { user: 'jürgen', realm: 'example.com', password: pw('pässwörd €') },
      { user: 'hostuser', realm: 'host.realm', password: pw('host-pw') },
      { user: 'long', realm: 'example.com', password: pw('L'.repeat(256)) },
    ]);
    d = await startDaemon({ args: ['-a', 'sasldb'], config: `sasldb_path: ${file}\nsasldb_default_realm: host.realm\n` });
  });
  after(async () => {
    assert.equal(await d.stop(), 0);
  });

  test('right and wrong passwords through the real testsaslauthd', async () => {
    assert.equal((await testsaslauthd(d.socket, 'alice', 'secret1', ['-r', 'example.com'])).code, 0);
    assert.equal((await testsaslauthd(d.socket, 'alice', 'other-pw', ['-r', 'other.org'])).code, 0);
    assert.equal((await testsaslauthd(d.socket, 'alice', 'other-pw', ['-r', 'example.com'])).code, 255);
    assert.equal((await testsaslauthd(d.socket, 'jürgen', 'pässwörd €', ['-r', 'example.com'])).code, 0);
    assert.equal((await testsaslauthd(d.socket, 'long', 'L'.repeat(256), ['-r', 'example.com'])).code, 0);
    assert.equal((await testsaslauthd(d.socket, 'long', 'L'.repeat(255), ['-r', 'example.com'])).code, 255);
  });

  test('an empty realm means the default realm (the short host name unless configured)', async () => {
    assert.equal((await testsaslauthd(d.socket, 'hostuser', 'host-pw')).code, 0);
    assert.equal((await testsaslauthd(d.socket, 'alice', 'secret1')).code, 255);
  });

  test('every failure is a bare NO on the wire; the log says why', async () => {
    assert.equal(await reply(d.socket, ['alice', 'wrong', 'imap', 'example.com']), 'NO');
    assert.equal(await reply(d.socket, ['nobody', 'x', 'imap', 'example.com']), 'NO');
    await d.waitForLog(/auth failure: \[user=alice\] \[service=imap\] \[realm=example\.com\] \[mech=sasldb\] \[reason=password mismatch\]/);
    await d.waitForLog(/auth failure: \[user=nobody\].*\[reason=no such user\]/);
    assert.equal(await reply(d.socket, ['alice', 'secret1', 'imap', 'example.com']), 'OK');
  });

  test('saslpasswd2 adding, changing and deleting users is seen by the next request', async () => {
    saslpasswd2(file, [{ user: 'carol', realm: 'example.com', password: pw('carol-pw') }]);
    assert.equal((await testsaslauthd(d.socket, 'carol', 'carol-pw', ['-r', 'example.com'])).code, 0);
    saslpasswd2(file, [{ user: 'carol', realm: 'example.com', password: pw('carol-new') }]);
    assert.equal((await testsaslauthd(d.socket, 'carol', 'carol-pw', ['-r', 'example.com'])).code, 255);
    assert.equal((await testsaslauthd(d.socket, 'carol', 'carol-new', ['-r', 'example.com'])).code, 0);
    saslpasswd2Delete(file, 'carol', 'example.com');
    assert.equal((await testsaslauthd(d.socket, 'carol', 'carol-new', ['-r', 'example.com'])).code, 255);
  });

  test('while saslpasswd2 rewrites the file, a stable user never gets a wrong answer', async () => {
    const writer = spawn('bash', ['-c', `for i in $(seq 1 400); do printf 'pw%s' $i | saslpasswd2 -p -f ${file} -c -u churn.org u$((i % 7)); saslpasswd2 -f ${file} -d -u churn.org u$(((i + 3) % 7)) 2>/dev/null; done`]);
    const done = new Promise((r) => writer.on('exit', r));
    let checks = 0;
    let finished = false;
    void done.then(() => (finished = true));
    while (!finished) {
      const [good, bad] = await Promise.all([reply(d.socket, ['bob', 'pw-bob2', 'imap', 'example.com']), reply(d.socket, ['bob', 'pw-bob3', 'imap', 'example.com'])]);
      // a temporary failure is allowed while the file is in flux; any other answer must be OK
      if (!good.startsWith('NO Temporary')) assert.equal(good, 'OK');
      assert.ok(bad === 'NO' || bad.startsWith('NO Temporary'), `wrong password answered ${bad}`);
      checks++;
    }
    // Lookups wait while the file is being rewritten, so how many ran depends on the machine.
    assert.ok(checks >= 2, `only ${checks} checks ran`);
    assert.equal(await reply(d.socket, ['bob', 'pw-bob2', 'imap', 'example.com']), 'OK', 'usable again once the writer stops');
    assert.ok(!/\[user=bob\].*\[reason=no such user\]/.test(d.logs()), 'bob was never reported missing');
  });
});

describe('the same file in Authmux and in the real saslauthd', () => {
  test('identical answers', async () => {
    const dir = tempDir();
    const file = join(dir, 'sasldb2');
    saslpasswd2(file, [
      { user: 'alice', realm: 'example.com', password: pw('secret1') },
      { user: 'bob', realm: 'ex.org', password: pw('pw-bob') },
    ]);
    const sasl = join(dir, 'run-sasl');
    const start = await run('unshare', ['-m', '--propagation', 'private', 'sh', '-c', `mkdir -p ${sasl} && mount --bind ${file} /etc/sasldb2 && exec saslauthd -a sasldb -n 1 -m ${sasl}`]);
    assert.equal(start.code, 0, start.stderr);
    const d = await startDaemon({ args: ['-a', 'sasldb'], config: `sasldb_path: ${file}\n` });
    try {
      const cases: string[][] = [
        ['alice', 'secret1', 'imap', 'example.com'],
        ['alice', 'secret2', 'imap', 'example.com'],
        ['alice', 'secret1', 'smtp', 'ex.org'],
        ['bob', 'pw-bob', 'smtp', 'ex.org'],
        ['nobody', 'x', 'imap', 'example.com'],
        ['bob', 'pw-bob', 'imap', ''],
        ['', 'x', 'imap', 'ex.org'],
        ['bob', '', 'imap', 'ex.org'],
      ];
      for (const c of cases) assert.equal(await reply(d.socket, c), await reply(join(sasl, 'mux'), c), JSON.stringify(c));
    } finally {
      await d.stop();
      process.kill(Number(readFileSync(join(sasl, 'saslauthd.pid'), 'utf8')), 'SIGTERM');
    }
  });
});

describe('sasldb files that cannot be served', () => {
  test('corrupt or foreign at start: exit 1 naming the file; corrupted later: temporary failure, never OK', async () => {
    const dir = tempDir();
    const bad = join(dir, 'bad');
    writeFileSync(bad, Buffer.concat([Buffer.alloc(12), Buffer.from([0x61, 0x15, 0x06, 0x00]), Buffer.alloc(600)]));
    const conf = join(dir, 'c.conf');
    writeFileSync(conf, `sasldb_path: ${bad}\n`);
    const r2 = await run(BIN, ['saslauthd', '-d', '-a', 'sasldb', '-m', join(dir, 'run'), '-O', conf]);
    assert.equal(r2.code, 1);
    assert.match(r2.stderr, new RegExp(`cannot start: ${bad}: `));

    const good = join(dir, 'sasldb2');
    saslpasswd2(good, [{ user: 'alice', realm: 'example.com', password: pw('secret1') }]);
    const d = await startDaemon({ args: ['-a', 'sasldb'], config: `sasldb_path: ${good}\n` });
    try {
      const original = readFileSync(good);
      writeFileSync(good, original.subarray(0, 700));
      await new Promise((res) => setTimeout(res, 150));
      assert.match(await reply(d.socket, ['alice', 'secret1', 'imap', 'example.com']), /^NO Temporary failure/);
      await d.waitForLog(/auth temporary failure: \[user=alice\].*truncated/);
      copyFileSync(join(dir, 'bad'), good);
      await new Promise((res) => setTimeout(res, 150));
      assert.match(await reply(d.socket, ['alice', 'secret1', 'imap', 'example.com']), /^NO Temporary failure/);
      writeFileSync(good, original);
      await new Promise((res) => setTimeout(res, 150));
      assert.equal(await reply(d.socket, ['alice', 'secret1', 'imap', 'example.com']), 'OK');
    } finally {
      await d.stop();
    }
  });
});

describe('authmux sasldb', () => {
  test('list prints what sasldblistusers2 prints', async () => {
    const file = join(tempDir(), 'sasldb2');
    saslpasswd2(file, [
      { user: 'alice', realm: 'example.com', password: pw('a') },
      { user: 'bob', realm: 'ex.org', password: pw('b') },
      { user: 'carol', realm: 'ex.org', password: pw('c') },
    ]);
    const ours = await run(BIN, ['sasldb', 'list', file]);
    const theirs = await run('sasldblistusers2', ['-f', file]);
    assert.equal(ours.code, 0);
    assert.equal(ours.stdout, theirs.stdout);
    const edit = await run(BIN, ['sasldb', 'set', '-f', file, 'dave@ex.org'], { input: 'd\n' });
    assert.equal(edit.code, 1);
    assert.match(edit.stderr, /Berkeley DB sasldb2; edit it with saslpasswd2/);
  });

  test('set and delete edit a text sasldb atomically, and the running daemon sees it', async () => {
    const dir = tempDir();
    const file = join(dir, 'users.txt');
    const conf = join(dir, 'c.conf');
    writeFileSync(conf, `mech: sasldb\nsasldb_path: ${file}\nsasldb_default_realm: example.com\n`);
    assert.equal((await run(BIN, ['sasldb', 'set', '-O', conf, 'alice'], { input: 'alice-pw\n' })).code, 0);
    assert.equal((await run(BIN, ['sasldb', 'set', '-O', conf, 'bob@ex.org'], { input: '$tarts-with-dollar\n' })).code, 0);
    const hash = (await run('mkpasswd', ['-m', 'sha512crypt', 'hashed-pw'])).stdout.trim();
    assert.equal((await run(BIN, ['sasldb', 'set', '-O', conf, '-e', 'carol'], { input: `${hash}\n` })).code, 0);
    assert.equal(readFileSync(file, 'utf8'), `alice@example.com:alice-pw\nbob@ex.org:{PLAIN}$tarts-with-dollar\ncarol@example.com:${hash}\n`);
    const d = await startDaemon({ args: ['-O', conf] });
    try {
      assert.equal((await testsaslauthd(d.socket, 'alice', 'alice-pw')).code, 0);
      assert.equal((await testsaslauthd(d.socket, 'bob', '$tarts-with-dollar', ['-r', 'ex.org'])).code, 0);
      assert.equal((await testsaslauthd(d.socket, 'carol', 'hashed-pw')).code, 0);
      assert.equal((await run(BIN, ['sasldb', 'delete', '-O', conf, 'alice'])).code, 0);
      await new Promise((res) => setTimeout(res, 150));
      assert.equal((await testsaslauthd(d.socket, 'alice', 'alice-pw')).code, 255);
      const list = await run(BIN, ['sasldb', 'list', '-O', conf]);
      assert.equal(list.stdout, 'bob@ex.org: userPassword\ncarol@example.com: userPassword\n');
      assert.equal((await run(BIN, ['sasldb', 'delete', '-O', conf, 'alice'])).code, 1);
    } finally {
      await d.stop();
    }
  });

  test('set refuses a user or realm that could name a path: "/", "..", a leading ".", control characters', async () => {
    const dir = tempDir();
    const file = join(dir, 'users.txt');
    for (const login of ['../../etc@example.com', '../x', 'a/b@example.com', '.hidden@example.com', 'x@..', 'x@ex/ample.com', 'tab\tx@example.com']) {
      const r = await run(BIN, ['sasldb', 'set', '-f', file, login], { input: 'pw\n' });
      assert.equal(r.code, 1, login);
      assert.match(r.stderr, /no "\/", leading "\." or control characters/, login);
    }
    assert.equal(existsSync(file), false, 'nothing was written');
  });
});

describe('a large sasldb2', () => {
  test('20,000 users, the last 500 added by saslpasswd2 to 19,500 put by db5.3_load: every sampled user answers', async () => {
    const file = join(tempDir(), 'sasldb2');
    const users = Array.from({ length: 20_000 }, (_, i) => ({ user: `u${i}`, realm: `r${i % 5}.test`, password: pw(`p${i}x${(i * 7919) % 10007}`) }));
    // db5.3_load puts, key for key, what saslpasswd2 puts: the same pairs for a sample made both ways.
    const byTool = join(tempDir(), 'sasldb2');
    const byLoad = join(tempDir(), 'sasldb2');
    saslpasswd2Bulk(byTool, users.slice(0, 40));
    dbLoadSasldb(byLoad, users.slice(0, 40));
    assert.deepEqual(dumpPairs(byLoad), dumpPairs(byTool));
    dbLoadSasldb(file, users.slice(0, 19_500));
    saslpasswd2Bulk(file, users.slice(19_500));
    const d = await startDaemon({ args: ['-a', 'sasldb'], config: `sasldb_path: ${file}\n` });
    try {
      for (let i = 0; i < 20_000; i += 97) {
        const u = users[i]!;
        assert.equal(await reply(d.socket, [u.user, u.password, 'imap', u.realm]), 'OK', u.user);
        assert.equal(await reply(d.socket, [u.user, Buffer.concat([u.password, pw('!')]), 'imap', u.realm]), 'NO', u.user);
      }
    } finally {
      await d.stop();
    }
  });
});
