import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeRequest } from '../../src/protocol/saslauthd.js';
import { BIN, run, startDaemon, testsaslauthd } from '../helpers/daemon.js';
import { EtcTree, mkpasswd, tempDir } from '../helpers/fixtures.js';
import { rawExchange, replyString } from '../helpers/raw-client.js';

function users(): EtcTree {
  const etc = new EtcTree(tempDir());
  etc.addUser({ name: 'alice', uid: 5000 });
  etc.addUser({ name: 'slow', uid: 5001 });
  etc.chpasswd('SHA512', [['alice', 'alice-pass']]);
  etc.chpasswd('YESCRYPT', [['slow', 'slow-pass']]);
  return etc;
}
const filesConf = (etc: EtcTree) => `passwd_file: ${etc.passwd}\nshadow_file: ${etc.shadow}\n`;

describe('daemon lifecycle', () => {
  test('SIGTERM: requests in flight are answered, then socket and pid file go and the exit status is 0', async () => {
    const etc = users();
    const d = await startDaemon({ args: ['-a', 'shadow'], config: filesConf(etc) });
    assert.equal(readFileSync(join(d.runDir, 'saslauthd.pid'), 'utf8'), `${d.proc.pid}\n`);
    const inflight = Array.from({ length: 6 }, () => rawExchange(d.socket, encodeRequest(['slow', 'slow-pass', 'imap', ''])));
    await sleep(15);
    const code = d.stop('SIGTERM');
    const replies = await Promise.all(inflight);
    for (const r of replies) assert.equal(r.kind === 'reply' && replyString(r.bytes), 'OK');
    assert.equal(await code, 0);
    assert.equal(existsSync(d.socket), false);
    assert.equal(existsSync(join(d.runDir, 'saslauthd.pid')), false);
  });

  test('SIGINT stops it too', async () => {
    const d = await startDaemon({ args: ['-a', 'shadow'], config: filesConf(users()) });
    assert.equal(await d.stop('SIGINT'), 0);
    assert.equal(existsSync(d.socket), false);
  });

  test('refuses to start over a live socket, and removes a stale one', async () => {
    const etc = users();
    const d = await startDaemon({ args: ['-a', 'shadow'], config: filesConf(etc) });
    try {
      const second = await run(BIN, ['saslauthd', '-d', '-a', 'shadow', '-m', d.runDir, '-O', d.configFile]);
      assert.equal(second.code, 1);
      assert.match(second.stderr, /another daemon is serving .*mux \(pid \d+/);
      assert.equal((await testsaslauthd(d.socket, 'alice', 'alice-pass')).code, 0, 'the first one is untouched');
    } finally {
      await d.stop();
    }
    // a socket left behind by a crashed daemon: bound, never unlinked, nobody listening
    const runDir = join(tempDir(), 'run');
    mkdirSync(runDir);
    execFileSync('python3', ['-c', `import socket; s=socket.socket(socket.AF_UNIX); s.bind(${JSON.stringify(join(runDir, 'mux'))})`]);
    assert.ok(statSync(join(runDir, 'mux')).isSocket());
    const d2 = await startDaemon({ args: ['-a', 'shadow', '-m', runDir], config: filesConf(etc) });
    assert.equal((await testsaslauthd(d2.socket, 'alice', 'alice-pass')).code, 0);
    await d2.stop();
  });

  test('a regular file where the socket goes is never deleted', async () => {
    const runDir = join(tempDir(), 'run');
    mkdirSync(runDir);
    writeFileSync(join(runDir, 'mux'), 'precious');
    const r = await run(BIN, ['saslauthd', '-d', '-a', 'shadow', '-m', runDir]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /exists and is not a socket/);
    assert.equal(readFileSync(join(runDir, 'mux'), 'utf8'), 'precious');
  });

  test('run dir: created 0755 when missing, left as the admin made it otherwise; socket 0777', async () => {
    const etc = users();
    const d = await startDaemon({ args: ['-a', 'shadow'], config: filesConf(etc) });
    assert.equal(statSync(d.runDir).mode & 0o7777, 0o755);
    assert.equal(statSync(d.socket).mode & 0o777, 0o777);
    await d.stop();
    const admin = join(tempDir(), 'run');
    mkdirSync(admin, { mode: 0o710 });
    const d2 = await startDaemon({ args: ['-a', 'shadow', '-m', admin], config: filesConf(etc) });
    assert.equal(statSync(admin).mode & 0o7777, 0o710);
    await d2.stop();
  });

  test('usage errors exit 1 with a message: unserved mechanism, relative -m, unknown flag, bad config line', async () => {
    const krb = await run(BIN, ['saslauthd', '-d', '-a', 'kerberos5', '-m', join(tempDir(), 'r')]);
    assert.equal(krb.code, 1);
    assert.match(krb.stderr, /kerberos5 is a saslauthd mechanism Authmux does not serve; supported: shadow, getpwent, sasldb/);
    const rel = await run(BIN, ['saslauthd', '-d', '-a', 'shadow', '-m', 'relative/run']);
    assert.equal(rel.code, 1);
    assert.match(rel.stderr, /must be an absolute path/);
    const bad = await run(BIN, ['saslauthd', '-d', '-a', 'shadow', '-Z']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /unknown option -Z/);
    const conf = join(tempDir(), 'c.conf');
    writeFileSync(conf, 'mech: shadow\nthis line is wrong\n');
    const badConf = await run(BIN, ['saslauthd', '-d', '-O', conf, '-m', join(tempDir(), 'r')]);
    assert.equal(badConf.code, 1);
    assert.match(badConf.stderr, /c\.conf:2: expected "key: value"/);
  });

  test('-v and -h', async () => {
    const v = await run(BIN, ['saslauthd', '-v']);
    assert.equal(v.code, 0);
    assert.match(v.stdout, /^authmux saslauthd \d+\.\d+\.\d+\nauthentication mechanisms: shadow getpwent sasldb vpopmail pam ldap rimap\n$/);
    const h = await run(BIN, ['saslauthd', '-h']);
    assert.equal(h.code, 0);
    assert.match(h.stdout, /-a mech/);
  });

  test('without -d or -f it detaches: the command returns 0 once the socket answers', async () => {
    const etc = users();
    const dir = tempDir();
    const runDir = join(dir, 'run');
    const conf = join(dir, 'c.conf');
    writeFileSync(conf, filesConf(etc) + `log_target: ${join(dir, 'authmux.log')}\n`);
    const r = await run(BIN, ['saslauthd', '-a', 'shadow', '-m', runDir, '-O', conf]);
    assert.equal(r.code, 0, r.stderr);
    const pid = Number(readFileSync(join(runDir, 'saslauthd.pid'), 'utf8'));
    try {
      assert.ok(pid > 0);
      assert.equal((await testsaslauthd(join(runDir, 'mux'), 'alice', 'alice-pass')).code, 0);
      assert.match(readFileSync(join(dir, 'authmux.log'), 'utf8'), /listening on/);
    } finally {
      process.kill(pid, 'SIGTERM');
    }
    for (let i = 0; i < 100 && existsSync(join(runDir, 'mux')); i++) await sleep(20);
    assert.equal(existsSync(join(runDir, 'mux')), false);
    // and a detached start that fails says why and exits 1
    const fail = await run(BIN, ['saslauthd', '-a', 'shadow', '-m', runDir, '-O', '/nonexistent.conf']);
    assert.equal(fail.code, 1);
    assert.match(fail.stderr, /cannot read config file/);
  });
});

describe('changes without restart', () => {
  test('a password changed with chpasswd is seen by the next request, cache or not', async () => {
    const etc = users();
    const d = await startDaemon({ args: ['-a', 'shadow', '-c', '-t', '3600'], config: filesConf(etc) });
    try {
      assert.equal((await testsaslauthd(d.socket, 'alice', 'alice-pass')).code, 0);
      assert.equal((await testsaslauthd(d.socket, 'alice', 'alice-pass')).code, 0);
      await d.waitForLog(/auth success: \[user=alice\].*\[reason=cached\]/);
      etc.chpasswd('YESCRYPT', [['alice', 'changed-pass']]);
      assert.equal((await testsaslauthd(d.socket, 'alice', 'alice-pass')).code, 255, 'old password must stop working at once');
      assert.equal((await testsaslauthd(d.socket, 'alice', 'changed-pass')).code, 0);
    } finally {
      await d.stop();
    }
  });

  test('SIGHUP re-reads the config (here: another mechanism) and flushes the cache', async () => {
    const etc = users();
    const dir = tempDir();
    const passwd2 = join(dir, 'passwd');
    writeFileSync(passwd2, `alice:${mkpasswd('sha512crypt', 'pwent-pass')}:1:1::/:/bin/sh\n`);
    const d = await startDaemon({ args: ['-c'], config: `mech: shadow\n${filesConf(etc)}` });
    try {
      assert.equal((await testsaslauthd(d.socket, 'alice', 'alice-pass')).code, 0);
      writeFileSync(d.configFile, `mech: getpwent\npasswd_file: ${passwd2}\n`);
      d.proc.kill('SIGHUP');
      await d.waitForLog(/configuration reloaded \(mech getpwent\); cache flushed/);
      assert.equal((await testsaslauthd(d.socket, 'alice', 'alice-pass')).code, 255, 'the cached success must be gone');
      assert.equal((await testsaslauthd(d.socket, 'alice', 'pwent-pass')).code, 0);
      // a broken config on reload keeps the running one
      writeFileSync(d.configFile, 'mech getpwent\n');
      d.proc.kill('SIGHUP');
      await d.waitForLog(/SIGHUP: configuration not reloaded/);
      assert.equal((await testsaslauthd(d.socket, 'alice', 'pwent-pass')).code, 0);
    } finally {
      await d.stop();
    }
  });
});

describe('authmux testsaslauthd', () => {
  test('prints and exits exactly like Cyrus testsaslauthd', async () => {
    const etc = users();
    const d = await startDaemon({ args: ['-a', 'shadow'], config: filesConf(etc) });
    try {
      for (const [user, pass, extra] of [['alice', 'alice-pass', []], ['alice', 'bad', []], ['alice', 'alice-pass', ['-R', '3', '-s', 'smtp', '-r', 'x']]] as const) {
        const ours = await run(BIN, ['testsaslauthd', '-u', user, '-p', pass, '-f', d.socket, ...extra]);
        const theirs = await testsaslauthd(d.socket, user, pass, extra);
        assert.equal(ours.stdout, theirs.stdout);
        assert.equal(ours.code, theirs.code);
      }
      const noSock = await run(BIN, ['testsaslauthd', '-u', 'a', '-p', 'b', '-f', join(tempDir(), 'none')]);
      assert.equal(noSock.code, 255);
      assert.match(noSock.stderr, /connect\(\)/);
      const usage = await run(BIN, ['testsaslauthd', '-u', 'a']);
      assert.equal(usage.code, 1);
      assert.match(usage.stderr, /usage/);
    } finally {
      await d.stop();
    }
  });
});
