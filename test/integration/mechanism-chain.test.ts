import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { encodeRequest } from '../../src/protocol/saslauthd.js';
import { fd3Input, probeFacts, runCheckpassword, writeProbe } from '../helpers/checkpassword.js';
import { startDaemon, testsaslauthd, type RunningDaemon } from '../helpers/daemon.js';
import { b64, DovecotRawClient } from '../helpers/dovecot-client.js';
import { EtcTree, tempDir } from '../helpers/fixtures.js';
import { rawExchange, replyString } from '../helpers/raw-client.js';
import { saslpasswd2 } from '../helpers/sasldb.js';

const TEMP = 'NO Temporary failure, try again later';

async function reply(socket: string, fields: string[]): Promise<string> {
  const r = await rawExchange(socket, encodeRequest(fields));
  return r.kind === 'reply' ? replyString(r.bytes) : `(${r.kind})`;
}

/**
 * alice only in shadow, bob and dan only in the sasldb, carol in both with a
 * password of each; passwords set by the real chpasswd and saslpasswd2.
 */
function sources() {
  const dir = tempDir('authmux-chain-');
  const etc = new EtcTree(join(dir, 'root'));
  etc.addUser({ name: 'alice', uid: 3101 });
  etc.addUser({ name: 'carol', uid: 3102 });
  etc.chpasswd('YESCRYPT', [['alice', 'alice-shadow'], ['carol', 'carol-shadow']]);
  const sasldb = join(dir, 'sasldb2');
  saslpasswd2(sasldb, [
    { user: 'bob', realm: 'example.com', password: Buffer.from('bob-sasldb') },
    { user: 'carol', realm: 'example.com', password: Buffer.from('carol-sasldb') },
    { user: 'dan', realm: 'example.com', password: Buffer.from('dan-sasldb') },
  ]);
  const keys = [`passwd_file: ${etc.passwd}`, `shadow_file: ${etc.shadow}`, `sasldb_path: ${sasldb}`, 'sasldb_default_realm: example.com'];
  return { dir, etc, sasldb, keys };
}

describe('saslauthd -a shadow,sasldb, driven by the real testsaslauthd', () => {
  let src: ReturnType<typeof sources>;
  let d: RunningDaemon;
  before(async () => {
    src = sources();
    d = await startDaemon({ args: ['-a', 'shadow,sasldb', '-c'], config: src.keys.join('\n') });
  });
  after(async () => {
    assert.equal(await d.stop(), 0);
  });

  test('users in each source and in both log in; the first source that knows the user decides', async () => {
    for (const [user, pass] of [['alice', 'alice-shadow'], ['bob', 'bob-sasldb'], ['carol', 'carol-shadow']]) {
      const ok = await testsaslauthd(d.socket, user!, pass!);
      assert.equal(ok.stdout, '0: OK "Success."\n', user);
    }
    const shadowed = await testsaslauthd(d.socket, 'carol', 'carol-sasldb');
    assert.equal(shadowed.stdout, '0: NO "authentication failed"\n', 'carol is shadow\'s: her sasldb password is a wrong one');
    assert.equal((await testsaslauthd(d.socket, 'nobody', 'x')).code, 255);
    await d.waitForLog(/auth success: \[user=alice\] \[service=imap\] \[realm=\] \[mech=shadow\]/);
    await d.waitForLog(/auth success: \[user=bob\] \[service=imap\] \[realm=\] \[mech=sasldb\]/);
    await d.waitForLog(/auth success: \[user=carol\] \[service=imap\] \[realm=\] \[mech=shadow\]/);
  });

  test('the reply is the deciding mechanism\'s (sasldb: a bare NO) and the log line names it', async () => {
    assert.equal(await reply(d.socket, ['alice', 'wrong', 'imap', '']), 'NO Incorrect password');
    assert.equal(await reply(d.socket, ['carol', 'carol-sasldb', 'imap', '']), 'NO Incorrect password');
    assert.equal(await reply(d.socket, ['bob', 'wrong', 'imap', '']), 'NO');
    assert.equal(await reply(d.socket, ['nobody', 'x', 'imap', '']), 'NO');
    await d.waitForLog(/auth failure: \[user=alice\] \[service=imap\] \[realm=\] \[mech=shadow\] \[reason=password mismatch\]/);
    await d.waitForLog(/auth failure: \[user=carol\] \[service=imap\] \[realm=\] \[mech=shadow\] \[reason=password mismatch\]/);
    await d.waitForLog(/auth failure: \[user=bob\] \[service=imap\] \[realm=\] \[mech=sasldb\] \[reason=password mismatch\]/);
    await d.waitForLog(/auth failure: \[user=nobody\] \[service=imap\] \[realm=\] \[mech=sasldb\] \[reason=no such user\]/);
  });

  test('a user cached from the sasldb goes to shadow as soon as shadow has them', async () => {
    assert.equal(await reply(d.socket, ['dan', 'dan-sasldb', 'imap', '']), 'OK');
    assert.equal(await reply(d.socket, ['dan', 'dan-sasldb', 'imap', '']), 'OK');
    await d.waitForLog(/auth success: \[user=dan\] \[service=imap\] \[realm=\] \[mech=sasldb\] \[reason=cached\]/);
    src.etc.addUser({ name: 'dan', uid: 3103 });
    src.etc.chpasswd('SHA512', [['dan', 'dan-shadow']]);
    assert.equal(await reply(d.socket, ['dan', 'dan-sasldb', 'imap', '']), 'NO Incorrect password');
    assert.equal(await reply(d.socket, ['dan', 'dan-shadow', 'imap', '']), 'OK');
    await d.waitForLog(/auth success: \[user=dan\] \[service=imap\] \[realm=\] \[mech=shadow\]/);
  });

  // Not the shadow file: shadow finds no such user in passwd before it reads the shadow file, as getpwnam would.
  test('while shadow\'s passwd file cannot be read, a sasldb user (cached or not) gets a temporary failure, never the sasldb\'s answer', async () => {
    assert.equal(await reply(d.socket, ['bob', 'bob-sasldb', 'imap', '']), 'OK');
    await d.waitForLog(/\[user=bob\] [^\n]*\[mech=sasldb\] \[reason=cached\]/);
    const mark = d.logs().length;
    renameSync(src.etc.passwd, `${src.etc.passwd}.away`);
    try {
      assert.equal(await reply(d.socket, ['bob', 'bob-sasldb', 'imap', '']), TEMP);
      assert.equal(await reply(d.socket, ['nobody', 'x', 'imap', '']), TEMP);
      const t = await testsaslauthd(d.socket, 'bob', 'bob-sasldb');
      assert.equal(t.code, 255);
      await d.waitForLog(/auth temporary failure: \[user=bob\] \[service=imap\] \[realm=\] \[mech=shadow\] \[reason=cannot stat .*passwd: ENOENT\]/);
      await d.waitForLog(/auth temporary failure: \[user=nobody\] [^\n]*\[mech=shadow\]/);
      assert.doesNotMatch(d.logs().slice(mark), /\[mech=sasldb\]/, 'the sasldb was never asked');
    } finally {
      renameSync(`${src.etc.passwd}.away`, src.etc.passwd);
    }
    assert.equal(await reply(d.socket, ['bob', 'bob-sasldb', 'imap', '']), 'OK');
  });
});

describe('mech: sasldb shadow from the config file, and SIGHUP to another order', () => {
  test('a sasldb that cannot be read is a temporary failure for a shadow user; the reloaded order decides', async () => {
    const src = sources();
    const d = await startDaemon({ config: ['mech: sasldb, shadow', ...src.keys].join('\n') });
    try {
      await d.waitForLog(/listening on .* \(mech sasldb,shadow,/);
      assert.equal(await reply(d.socket, ['carol', 'carol-sasldb', 'imap', '']), 'OK');
      assert.equal(await reply(d.socket, ['carol', 'carol-shadow', 'imap', '']), 'NO', 'sasldb first: its bare NO');
      assert.equal(await reply(d.socket, ['nobody', 'x', 'imap', '']), 'NO Invalid username', 'shadow last: its words');
      assert.equal(await reply(d.socket, ['alice', 'alice-shadow', 'imap', '']), 'OK');
      renameSync(src.sasldb, `${src.sasldb}.away`);
      assert.equal(await reply(d.socket, ['alice', 'alice-shadow', 'imap', '']), TEMP);
      await d.waitForLog(/auth temporary failure: \[user=alice\] \[service=imap\] \[realm=\] \[mech=sasldb\] \[reason=cannot stat .*sasldb2: ENOENT\]/);
      renameSync(`${src.sasldb}.away`, src.sasldb);
      writeFileSync(d.configFile, ['mech: shadow sasldb', ...src.keys].join('\n'));
      d.proc.kill('SIGHUP');
      await d.waitForLog(/configuration reloaded \(mech shadow,sasldb\); cache flushed/);
      assert.equal(await reply(d.socket, ['carol', 'carol-sasldb', 'imap', '']), 'NO Incorrect password');
      assert.equal(await reply(d.socket, ['carol', 'carol-shadow', 'imap', '']), 'OK');
    } finally {
      assert.equal(await d.stop(), 0);
    }
  });

  test('a repeated or unknown member stops the start with a line saying which', async () => {
    const src = sources();
    await assert.rejects(startDaemon({ args: ['-a', 'shadow,sasldb,shadow'], config: src.keys.join('\n') }), /-a shadow,sasldb,shadow: shadow is named twice/);
    await assert.rejects(startDaemon({ config: ['mech: shadow kerberos5', ...src.keys].join('\n') }), /saslauthd\.conf:1: kerberos5 is a saslauthd mechanism Authmux does not serve/);
  });
});

describe('the Dovecot sockets with -a sasldb,shadow', () => {
  test('no CRAM-MD5 (shadow keeps no clear password); logins and userdb lookups go down the chain; a source down is FAIL', async () => {
    const src = sources();
    const runDir = join(src.dir, 'run');
    const auth = join(runDir, 'auth');
    const userdb = join(runDir, 'userdb');
    const d = await startDaemon({ args: ['-m', runDir, '-a', 'sasldb,shadow'], config: [...src.keys, `dovecot_socket: ${auth}`, `dovecot_userdb_socket: ${userdb}`].join('\n') });
    try {
      const a = await DovecotRawClient.open(auth);
      try {
        const mechs = (await a.handshake()).filter((l) => l.startsWith('MECH\t'));
        assert.deepEqual(mechs, ['MECH\tPLAIN\tplaintext', 'MECH\tLOGIN\tplaintext']);
        const plain = (id: number, user: string, pw: string) => `AUTH\t${id}\tPLAIN\tservice=smtp\tresp=${b64(`\0${user}\0${pw}`)}\n`;
        a.send(plain(1, 'bob', 'bob-sasldb'));
        assert.equal(await a.line(), 'OK\t1\tuser=bob');
        a.send(plain(2, 'alice', 'alice-shadow'));
        assert.equal(await a.line(), 'OK\t2\tuser=alice');
        await d.waitForLog(/auth success: \[user=bob\] \[service=smtp\] \[realm=\] \[mech=sasldb\/dovecot\]/);
        await d.waitForLog(/auth success: \[user=alice\] \[service=smtp\] \[realm=\] \[mech=shadow\/dovecot\]/);
      } finally {
        a.close();
      }
      const u = await DovecotRawClient.open(userdb);
      try {
        await u.line();
        await u.line();
        const lookup = (id: number, name: string) => `USER\t${id}\t${name}\tservice=smtp\n`;
        u.send(lookup(1, 'bob'));
        assert.equal(await u.line(), 'USER\t1\tbob');
        u.send(lookup(2, 'alice'));
        assert.equal(await u.line(), 'USER\t2\talice');
        u.send(lookup(3, 'nobody'));
        assert.equal(await u.line(), 'NOTFOUND\t3');
        renameSync(src.sasldb, `${src.sasldb}.away`);
        u.send(lookup(4, 'alice'));
        assert.equal(await u.line(), 'FAIL\t4', 'sasldb down: shadow does not answer instead');
        await d.waitForLog(/userdb lookup of alice \(sasldb\/dovecot\): cannot stat /);
      } finally {
        u.close();
      }
    } finally {
      assert.equal(await d.stop(), 0);
    }
  });
});

describe('checkpassword, direct mode, mech: shadow sasldb', () => {
  test('a system user runs as themself, a sasldb user as the virtual owner; passwd unreadable is 111 for the sasldb user too', async () => {
    const src = sources();
    chmodSync(src.dir, 0o755);
    const home = (uid: number, path: string) => {
      mkdirSync(path, { recursive: true });
      chownSync(path, uid, uid);
      return path;
    };
    src.etc.addUser({ name: 'erin', uid: 3104, home: home(3104, join(src.dir, 'home/erin')) });
    src.etc.addUser({ name: 'vmail', uid: 3300, home: home(3300, join(src.dir, 'vmail')) });
    src.etc.chpasswd('SHA512', [['erin', 'erin-shadow'], ['vmail', 'vmail-pw']]);
    const bobHome = home(3300, join(src.dir, 'mail/example.com/bob'));
    const config = join(src.dir, 'checkpassword.conf');
    writeFileSync(config, ['mech: shadow sasldb', ...src.keys, 'virtual_user: vmail', `virtual_home: ${src.dir}/mail/%d/%u`].join('\n') + '\n');
    const env = { AUTHMUX_CONFIG: config };
    const probe = writeProbe();
    const erin = await runCheckpassword(fd3Input('erin', 'erin-shadow'), [probe], env);
    assert.equal(erin.code, 7, erin.stderr);
    assert.equal(probeFacts(erin.stdout).get('uid'), '3104 gid 3104 groups 3104');
    const bob = await runCheckpassword(fd3Input('bob@example.com', 'bob-sasldb'), [probe], env);
    assert.equal(bob.code, 7, bob.stderr);
    assert.equal(probeFacts(bob.stdout).get('uid'), '3300 gid 3300 groups 3300');
    assert.equal(probeFacts(bob.stdout).get('cwd'), bobHome);
    assert.equal((await runCheckpassword(fd3Input('bob@example.com', 'wrong'), [probe], env)).code, 1);
    renameSync(src.etc.passwd, `${src.etc.passwd}.away`);
    const down = await runCheckpassword(fd3Input('bob@example.com', 'bob-sasldb'), [probe], env);
    assert.equal(down.code, 111, down.stderr);
    // The chain's answer, not the virtual owner's lookup that would follow a success.
    assert.match(down.stderr, /temporary failure \[user=bob@example\.com\].*passwd: ENOENT/);
    assert.equal(down.stdout, '');
  });
});
