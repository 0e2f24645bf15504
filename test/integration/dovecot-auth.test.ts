import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { BIN, run, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { b64, DovecotRawClient } from '../helpers/dovecot-client.js';
import { PrivatePostfix } from '../helpers/postfix.js';
import { until } from '../helpers/relay-site.js';
import { EtcTree, mkpasswd, tempDir } from '../helpers/fixtures.js';

const NOBODY = 65534;
const POSTFIX_GID = Number(execFileSync('id', ['-g', 'postfix']).toString());

function doveadm(socket: string, user: string, password: string, extra: readonly string[] = []) {
  return run('doveadm', ['auth', 'test', '-a', socket, ...extra, user, password]);
}

/** swaks to a remote recipient, with `auth` (swaks options) or none; the RCPT reply code. */
function rcptReply(port: number, auth: readonly string[]): Promise<string> {
  return run('swaks', ['--server', `127.0.0.1:${port}`, ...auth, '--to', 'someone@remote.example', '--from', 'carol@authmux.test', '--quit-after', 'RCPT', '--timeout', '10']).then((r) => {
    const m = /RCPT TO:<someone@remote\.example>\s*\n\s*<[~*-]*\s+(\d{3})/.exec(r.stdout + r.stderr);
    return m ? m[1]! : `no RCPT reply: ${r.stdout}${r.stderr}`;
  });
}

/** swaks through Postfix's SMTP AUTH; the reply line to the last AUTH step. */
function swaksAuth(port: number, mech: string, user: string, password: string): Promise<string> {
  return run('swaks', ['--server', `127.0.0.1:${port}`, '--auth', mech, '--auth-user', user, '--auth-password', password, '--quit-after', 'AUTH', '--timeout', '10']).then((r) => {
    // swaks marks server lines `<-` (`<**` for an error reply).
    const m = /^<[-~*]+\s+((?:235|535|454) [^\n]*)/m.exec(r.stdout + r.stderr);
    return m ? m[1]! : `no AUTH reply:\n${r.stdout}${r.stderr}`;
  });
}

/** An AUTH line as Postfix writes it. */
const auth = (id: number | string, mech: string, more = '') => `AUTH\t${id}\t${mech}\tservice=smtp\tnologin\tlip=127.0.0.1\trip=192.0.2.1${more}\n`;

describe('Dovecot auth socket', () => {
  const base = tempDir('authmux-dovecot-');
  chmodSync(base, 0o755);
  const etc = new EtcTree(join(base, 'root'));
  etc.addUser({ name: 'carol', uid: 4242, home: '/tmp' });
  etc.addUser({ name: 'dave', uid: 4243, home: '/tmp' });
  etc.addUser({ name: 'erin', uid: 4245, home: '/tmp' });
  etc.chpasswd('SHA512', [['carol', 'carol-pw'], ['dave', 'dave-pw'], ['erin', 'erin-pw']]);
  // Expired on day 1: the right password is answered "Account expired" to those told why.
  etc.setAging('erin', '19000:0:99999:7::1:');
  const runDir = join(base, 'run');
  const socket = join(runDir, 'auth');
  const relayFile = join(base, 'relayers');
  let d: RunningDaemon;

  before(async () => {
    d = await startDaemon({
      args: ['-m', runDir, '-a', 'shadow'],
      config: [
        `passwd_file: ${etc.passwd}`,
        `shadow_file: ${etc.shadow}`,
        `relay_file: ${relayFile}`,
        `dovecot_socket: ${socket}`,
        'dovecot_socket_group: postfix',
        'request_timeout: 1',
        'idle_timeout: 3',
      ].join('\n'),
    });
  });
  after(async () => {
    await d?.stop();
  });

  test('the socket is made 0660 and given to the group postfix', () => {
    const st = statSync(socket);
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o660);
    assert.equal(st.gid, POSTFIX_GID);
    assert.equal(st.uid, 0);
    assert.match(d.logs(), new RegExp(`Dovecot auth requests on ${socket} \\(PLAIN LOGIN\\)`));
  });

  test('doveadm auth test, PLAIN: 0 for the right password, 77 for a wrong one or an unknown user', async () => {
    const ok = await doveadm(socket, 'carol', 'carol-pw');
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /passdb: carol auth succeeded/);
    assert.match(ok.stdout, /user=carol/);
    assert.equal((await doveadm(socket, 'carol', 'wrong')).code, 77);
    assert.equal((await doveadm(socket, 'nosuchuser', 'x')).code, 77);
    await d.waitForLog(/auth failure: \[user=nosuchuser\] \[service=doveadm\] \[realm=\] \[mech=shadow\/dovecot\] \[reason=no such user\]/);
  });

  test('doveadm auth test -M: a right password used to act as another user is refused (77)', async () => {
    // doveadm sends PLAIN with the master user as login and the user as authorization identity.
    const r = await doveadm(socket, 'carol', 'dave-pw', ['-M', 'dave']);
    assert.equal(r.code, 77, r.stdout + r.stderr);
    await d.waitForLog(/auth failure: \[user=dave\] \[service=doveadm\] .*\[reason=authorization identity differs from the login\]/);
  });

  test('a login with rip from the MTA (root here) opens relay for that address, in its canonical form', async () => {
    const r = await doveadm(socket, 'carol', 'carol-pw', ['-x', 'service=imap', '-x', 'rip=::ffff:198.51.100.20']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    await d.waitForLog(/relay: 198\.51\.100\.20 may relay/);
    assert.match(readFileSync(relayFile, 'latin1'), /^198\.51\.100\.20 /m);
    // smtp is no relay service by default: the login is fine, no grant.
    assert.equal((await doveadm(socket, 'carol', 'carol-pw', ['-x', 'service=smtp', '-x', 'rip=198.51.100.21'])).code, 0);
    await sleep(200);
    assert.doesNotMatch(readFileSync(relayFile, 'latin1'), /198\.51\.100\.21/);
  });

  test('the handshake arrives whole at connect, before the client says anything', async () => {
    const c = await DovecotRawClient.open(socket);
    try {
      const h = await c.handshake();
      assert.deepEqual(h.slice(0, 3), ['VERSION\t1\t2', 'MECH\tPLAIN\tplaintext', 'MECH\tLOGIN\tplaintext']);
      assert.match(h[3]!, /^SPID\t\d+$/);
      assert.match(h[4]!, /^CUID\t\d+$/);
      assert.match(h[5]!, /^COOKIE\t[0-9a-f]{32}$/);
      assert.equal(h.length, 7);
    } finally {
      c.close();
    }
  });

  test('PLAIN with resp=, PLAIN through an empty CONT, LOGIN in two rounds, several in flight answered by id', async () => {
    const c = await DovecotRawClient.open(socket);
    try {
      await c.handshake();
      c.send('VERSION\t1\t2\nCPID\t999\n');
      c.send(auth(1, 'PLAIN', `\tresp=${b64('\0carol\0carol-pw')}`));
      assert.equal(await c.line(), 'OK\t1\tuser=carol');
      c.send(auth(2, 'PLAIN'));
      assert.equal(await c.line(), 'CONT\t2\t');
      c.send(`CONT\t2\t${b64('\0dave\0dave-pw')}\n`);
      assert.equal(await c.line(), 'OK\t2\tuser=dave');
      // Three at once: a LOGIN waiting for its user, a wrong password and a right one.
      c.send(auth(10, 'LOGIN') + auth(11, 'PLAIN', `\tresp=${b64('\0carol\0nope')}`) + auth(12, 'PLAIN', `\tresp=${b64('\0dave\0dave-pw')}`));
      const got = new Set([await c.line(), await c.line(), await c.line()]);
      assert.deepEqual(got, new Set([`CONT\t10\t${b64('Username:')}`, 'FAIL\t11\tuser=carol', 'OK\t12\tuser=dave']));
      c.send(`CONT\t10\t${b64('carol')}\n`);
      assert.equal(await c.line(), `CONT\t10\t${b64('Password:')}`);
      c.send(`CONT\t10\t${b64('carol-pw')}\n`);
      assert.equal(await c.line(), 'OK\t10\tuser=carol');
      // An id answered may be used again.
      c.send(auth(1, 'LOGIN', `\tresp=${b64('dave')}`));
      assert.equal(await c.line(), `CONT\t1\t${b64('Password:')}`);
      c.send(`CONT\t1\t${b64('dave-pw')}\n`);
      assert.equal(await c.line(), 'OK\t1\tuser=dave');
    } finally {
      c.close();
    }
  });

  test('refused without a check: another authzid, empty login or password, NUL, bad base64, unoffered mechanism; the connection goes on', async () => {
    const c = await DovecotRawClient.open(socket);
    try {
      await c.handshake();
      c.send(auth(1, 'PLAIN', `\tresp=${b64('root\0carol\0carol-pw')}`));
      assert.equal(await c.line(), 'FAIL\t1\tuser=carol');
      c.send(auth(2, 'PLAIN', `\tresp=${b64('\0\0carol-pw')}`));
      assert.equal(await c.line(), 'FAIL\t2');
      c.send(auth(3, 'PLAIN', `\tresp=${b64('\0carol\0')}`));
      assert.equal(await c.line(), 'FAIL\t3\tuser=carol');
      c.send(auth(4, 'PLAIN', `\tresp=${b64('\0carol\0carol-pw\0x')}`));
      assert.equal(await c.line(), 'FAIL\t4\tuser=carol');
      c.send(auth(5, 'PLAIN', '\tresp=AGNhcm9sAGNhcm9sLXB3!'));
      assert.equal(await c.line(), 'FAIL\t5');
      c.send(auth(6, 'LOGIN'));
      await c.line();
      c.send('CONT\t6\tnot base64\n');
      assert.equal(await c.line(), 'FAIL\t6');
      c.send(auth(7, 'LOGIN'));
      await c.line();
      c.send('CONT\t7\t\n');
      assert.equal(await c.line(), 'FAIL\t7');
      c.send(auth(8, 'CRAM-MD5'));
      assert.equal(await c.line(), 'FAIL\t8');
      // A CONT for a request no longer open is told so, and nothing else happens.
      c.send(`CONT\t8\t${b64('x')}\n`);
      assert.equal(await c.line(), 'FAIL\t8');
      c.send(auth(9, 'PLAIN', `\tresp=${b64('carol\0carol\0carol-pw')}`));
      assert.equal(await c.line(), 'OK\t9\tuser=carol');
      await d.waitForLog(/auth failure: \[user=carol\] \[service=smtp\] \[realm=\] \[mech=shadow\/dovecot\] \[reason=authorization identity differs from the login\] \[client=192\.0\.2\.1\]/);
    } finally {
      c.close();
    }
  });

  test('a temporary failure is FAIL ... temp, never a plain FAIL', async () => {
    const moved = `${etc.shadow}.away`;
    renameSync(etc.shadow, moved);
    try {
      const c = await DovecotRawClient.open(socket);
      try {
        await c.handshake();
        c.send(auth(1, 'PLAIN', `\tresp=${b64('\0carol\0carol-pw')}`));
        assert.equal(await c.line(), 'FAIL\t1\tuser=carol\treason=Temporary failure, try again later\ttemp\tcode=temp_fail');
      } finally {
        c.close();
      }
      assert.equal((await doveadm(socket, 'carol', 'carol-pw')).code, 77);
    } finally {
      renameSync(moved, etc.shadow);
    }
    await sleep(100);
    assert.equal((await doveadm(socket, 'carol', 'carol-pw')).code, 0);
  });

  test('protocol breaches close that connection only, logged once however many come', async () => {
    const bystander = await DovecotRawClient.open(socket);
    await bystander.handshake();
    bystander.send(auth(1, 'LOGIN'));
    assert.equal(await bystander.line(), `CONT\t1\t${b64('Username:')}`);
    const before = d.logs().split('\n').filter((l) => l.includes('dovecot auth connection closed')).length;

    const breaches: Array<[string, string | Buffer]> = [
      ['line over 16384 bytes', `AUTH\t1\tPLAIN\tservice=smtp\tresp=${'A'.repeat(16_400)}\n`],
      ['a line over 16 KiB without its LF', Buffer.alloc(20_000, 0x41)],
      ['unknown command', 'HELLO\tthere\n'],
      ['duplicate id', auth(3, 'LOGIN') + auth(3, 'LOGIN')],
      ['more than 64 in flight', Array.from({ length: 65 }, (_, i) => auth(100 + i, 'PLAIN')).join('')],
      ['AUTH without service', 'AUTH\t1\tPLAIN\n'],
      ['CONT while checking', auth(4, 'PLAIN', `\tresp=${b64('\0carol\0carol-pw')}`) + `CONT\t4\t${b64('x')}\n`],
      ['wrong major version', 'VERSION\t2\t0\n'],
      ['bad escape', 'AUTH\t1\tPLAIN\tservice=sm\x01Xtp\n'],
    ];
    for (const [what, bytes] of breaches) {
      const c = await DovecotRawClient.open(socket);
      await c.handshake();
      c.send(bytes);
      assert.ok(await c.closedWithin(3000), `${what}: connection not closed`);
      if (what === 'more than 64 in flight') assert.equal(c.unread.filter((l) => l.startsWith('CONT')).length, 64);
    }
    // The bystander's request is still open, and finishes.
    assert.equal(bystander.closed, false);
    bystander.send(`CONT\t1\t${b64('carol')}\n`);
    assert.equal(await bystander.line(), `CONT\t1\t${b64('Password:')}`);
    bystander.send(`CONT\t1\t${b64('carol-pw')}\n`);
    assert.equal(await bystander.line(), 'OK\t1\tuser=carol');
    bystander.close();
    const lines = d.logs().split('\n').filter((l) => l.includes('dovecot auth connection closed: '));
    assert.ok(lines.length >= 1, 'a closing is logged');
    assert.ok(lines.length - before <= 1, `at most one line at once for ${breaches.length} closings:\n${lines.join('\n')}`);
  });

  test('no request within request_timeout, or no answer to a challenge: closed; a request in time is served', async () => {
    const silent = await DovecotRawClient.open(socket);
    await silent.handshake();
    // VERSION and CPID are no request: they do not hold the connection open.
    silent.send('VERSION\t1\t2\nCPID\t1\n');
    const challenged = await DovecotRawClient.open(socket);
    await challenged.handshake();
    challenged.send(auth(1, 'PLAIN'));
    assert.equal(await challenged.line(), 'CONT\t1\t');
    const t0 = Date.now();
    assert.ok(await silent.closedWithin(3000), 'silent client kept');
    assert.ok(await challenged.closedWithin(3000), 'challenged client kept');
    assert.ok(Date.now() - t0 >= 500);
    // One that asks in time is answered, then may stay idle for idle_timeout (3 s here), past request_timeout.
    const c = await DovecotRawClient.open(socket);
    await c.handshake();
    c.send(auth(1, 'PLAIN', `\tresp=${b64('\0carol\0carol-pw')}`));
    assert.equal(await c.line(), 'OK\t1\tuser=carol');
    assert.equal(await c.closedWithin(1500), false);
    c.send(auth(2, 'PLAIN', `\tresp=${b64('\0carol\0carol-pw')}`));
    assert.equal(await c.line(), 'OK\t2\tuser=carol');
    assert.ok(await c.closedWithin(5000), 'idle client kept past idle_timeout');
  });

  test('a peer that is not root or a trusted user (nobody, let in by the group) is not believed about rip, nor told why', async () => {
    const script = join(base, 'client.cjs');
    writeFileSync(script, `
const net = require('node:net');
const s = net.connect(process.argv[2]);
let buf = '';
s.on('data', (c) => {
  buf += c.toString('latin1');
  if (buf.includes('DONE\\n') && !s.sent) {
    s.sent = true;
    const resp = (u, p) => Buffer.from('\\0' + u + '\\0' + p).toString('base64');
    s.write('AUTH\\t1\\tPLAIN\\tservice=pop3\\trip=203.0.113.77\\tresp=' + resp('carol', 'carol-pw') + '\\n');
    s.write('AUTH\\t2\\tPLAIN\\tservice=pop3\\trip=203.0.113.78\\tresp=' + resp('nosuchuser', 'x') + '\\n');
    s.write('AUTH\\t3\\tPLAIN\\tservice=pop3\\tresp=' + resp('erin', 'erin-pw') + '\\n');
  }
  const replies = buf.split('\\n').filter((l) => /^(OK|FAIL)\\t/.test(l));
  if (replies.length === 3) { process.stdout.write(replies.sort().join('\\n')); s.destroy(); }
});
s.on('error', (e) => process.stdout.write('error ' + e.code));
`, { mode: 0o644 });
    const out = await new Promise<string>((resolve) => {
      const p = spawn(process.execPath, [script, socket], { uid: NOBODY, gid: POSTFIX_GID, stdio: ['ignore', 'pipe', 'inherit'] });
      let o = '';
      p.stdout.on('data', (c: Buffer) => (o += c.toString('latin1')));
      p.on('close', () => resolve(o));
    });
    assert.equal(out, 'FAIL\t2\tuser=nosuchuser\nFAIL\t3\tuser=erin\nOK\t1\tuser=carol');
    // Root, like the MTA, is told.
    const c = await DovecotRawClient.open(socket);
    try {
      await c.handshake();
      c.send(auth(1, 'PLAIN', `\tresp=${b64('\0erin\0erin-pw')}`));
      assert.equal(await c.line(), 'FAIL\t1\tuser=erin\treason=Account expired');
    } finally {
      c.close();
    }
    await d.waitForLog(/auth failure: \[user=nosuchuser\] \[service=pop3\]/);
    await sleep(200);
    assert.doesNotMatch(existsSync(relayFile) ? readFileSync(relayFile, 'latin1') : '', /203\.0\.113\.7/);
    assert.doesNotMatch(d.logs(), /203\.0\.113\.7/);
  });
});

describe('Dovecot auth socket settings', () => {
  test('dovecot_mechanisms LOGIN alone: only LOGIN announced, PLAIN refused; mode 0600 and no owner given: root\'s alone', async () => {
    const dir = tempDir('authmux-dovecot-set-');
    const socket = join(dir, 'run', 'auth');
    const d = await startDaemon({ args: ['-m', join(dir, 'run'), '-a', 'shadow'], config: `dovecot_socket: ${socket}\ndovecot_mechanisms: login\ndovecot_socket_mode: 0600\n` });
    try {
      const st = statSync(socket);
      assert.equal(st.mode & 0o777, 0o600);
      assert.deepEqual([st.uid, st.gid], [0, 0]);
      const c = await DovecotRawClient.open(socket);
      try {
        const h = await c.handshake();
        assert.deepEqual(h.filter((l) => l.startsWith('MECH')), ['MECH\tLOGIN\tplaintext']);
        c.send(auth(1, 'PLAIN', `\tresp=${b64('\0root\0x')}`));
        assert.equal(await c.line(), 'FAIL\t1');
      } finally {
        c.close();
      }
    } finally {
      await d.stop();
    }
  });

  test('a stop lets a login being checked answer, then closes; a request waiting for its CONT is abandoned', async () => {
    const dir = tempDir('authmux-dovecot-set-');
    chmodSync(dir, 0o755);
    const etc = new EtcTree(join(dir, 'root'));
    etc.addUser({ name: 'slow', uid: 4244, home: '/tmp' });
    // A hash that takes about a second to check, so the stop comes while it runs.
    etc.setHash('slow', mkpasswd('sha-512', 'slow-pw', 3_000_000));
    const socket = join(dir, 'run', 'auth');
    const d = await startDaemon({ args: ['-m', join(dir, 'run'), '-a', 'shadow'], config: `passwd_file: ${etc.passwd}\nshadow_file: ${etc.shadow}\ndovecot_socket: ${socket}\n` });
    const waiting = await DovecotRawClient.open(socket);
    const c = await DovecotRawClient.open(socket);
    try {
      await waiting.handshake();
      waiting.send(auth(1, 'LOGIN'));
      assert.equal(await waiting.line(), `CONT\t1\t${b64('Username:')}`);
      await c.handshake();
      c.send(auth(7, 'PLAIN', `\tresp=${b64('\0slow\0slow-pw')}`));
      await sleep(150);
      const stopped = d.stop();
      assert.equal(await c.line(10_000), 'OK\t7\tuser=slow');
      assert.ok(await c.closedWithin(3000));
      assert.ok(await waiting.closedWithin(3000));
      assert.equal(await stopped, 0);
      assert.equal(existsSync(socket), false);
    } finally {
      c.close();
      waiting.close();
      await d.stop();
    }
  });

  test('the daemon\'s connection limits hold here too: a user outside trusted_users gets max_connections_per_user, root still gets in', async () => {
    const dir = tempDir('authmux-dovecot-set-');
    chmodSync(dir, 0o755);
    const socket = join(dir, 'run', 'auth');
    const d = await startDaemon({ args: ['-m', join(dir, 'run'), '-a', 'shadow'], config: `dovecot_socket: ${socket}\ndovecot_socket_mode: 0666\nmax_connections_per_user: 2\n` });
    const script = join(dir, 'hold.cjs');
    // Opens three connections one after another and says, for each, whether the handshake came or the door shut.
    writeFileSync(script, `
const net = require('node:net');
const out = [];
const open = (n) => {
  if (n === 0) { process.stdout.write(out.join(' ')); process.exit(0); }
  const s = net.connect(process.argv[2]);
  let buf = '';
  s.on('data', (c) => { buf += c; if (buf.includes('DONE\\n')) { out.push('served'); open(n - 1); } });
  s.on('close', () => { if (!buf.includes('DONE\\n')) { out.push('refused'); open(n - 1); } });
  s.on('error', () => undefined);
};
open(3);
`, { mode: 0o644 });
    try {
      const out = await new Promise<string>((resolve) => {
        const p = spawn(process.execPath, [script, socket], { uid: NOBODY, gid: NOBODY, stdio: ['ignore', 'pipe', 'inherit'] });
        let o = '';
        p.stdout.on('data', (c: Buffer) => (o += c.toString('latin1')));
        p.on('close', () => resolve(o));
      });
      assert.equal(out, 'served served refused');
      await d.waitForLog(/connection refused: uid 65534 already holds max_connections_per_user \(2\)/);
      const c = await DovecotRawClient.open(socket);
      try {
        assert.equal((await c.handshake()).at(-1), 'DONE');
      } finally {
        c.close();
      }
    } finally {
      await d.stop();
    }
  });

  test('an owner this system lacks stops the start with exit 1, naming the key', async () => {
    const dir = tempDir('authmux-dovecot-set-');
    const conf = join(dir, 'c.conf');
    writeFileSync(conf, `dovecot_socket: ${join(dir, 'run', 'auth')}\ndovecot_socket_group: nosuchgroup\n`);
    const r = await run(BIN, ['saslauthd', '-d', '-a', 'shadow', '-m', join(dir, 'run'), '-O', conf]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot start: dovecot_socket_group: no group named "nosuchgroup"/);
  });
});

describe('Postfix with smtpd_sasl_type = dovecot, set up as the README says', () => {
  test('swaks AUTH PLAIN and LOGIN, right and wrong passwords, the temporary failure named while the source is down, relay for the authenticated session; after idle_timeout Postfix reconnects by itself', async () => {
    const base = tempDir('authmux-dovecot-pf-');
    chmodSync(base, 0o755);
    const etc = new EtcTree(join(base, 'root'));
    etc.addUser({ name: 'carol', uid: 4242, home: '/tmp' });
    etc.addUser({ name: 'dave', uid: 4243, home: '/tmp' });
    etc.chpasswd('SHA512', [['carol', 'carol-pw'], ['dave', 'dave-pw']]);
    // The socket's path is relative to Postfix's queue directory, in a directory only root writes.
    const postfix = PrivatePostfix.start('static:dunno', ['smtpd_sasl_auth_enable = yes', 'smtpd_sasl_type = dovecot', 'smtpd_sasl_path = authmux/auth',
      'smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination']);
    let d: RunningDaemon | undefined;
    try {
      const dir = join(postfix.dir, 'queue', 'authmux');
      mkdirSync(dir, { mode: 0o750 });
      chownSync(dir, 0, POSTFIX_GID);
      d = await startDaemon({
        args: ['-m', join(base, 'run'), '-a', 'shadow'],
        config: [`passwd_file: ${etc.passwd}`, `shadow_file: ${etc.shadow}`, `dovecot_socket: ${join(dir, 'auth')}`, 'dovecot_socket_group: postfix', 'idle_timeout: 2'].join('\n'),
      });
      await until('Postfix to listen', async () => !(await swaksAuth(postfix.port, 'PLAIN', 'carol', 'carol-pw')).startsWith('no AUTH reply'));
      assert.match(await swaksAuth(postfix.port, 'PLAIN', 'carol', 'carol-pw'), /^235 /, postfix.log());
      assert.match(await swaksAuth(postfix.port, 'PLAIN', 'carol', 'wrong'), /^535 /);
      assert.match(await swaksAuth(postfix.port, 'LOGIN', 'dave', 'dave-pw'), /^235 /, postfix.log());
      assert.match(await swaksAuth(postfix.port, 'LOGIN', 'dave', 'wrong'), /^535 /);
      // The refusal says nothing about whether the login exists.
      const unknown = await swaksAuth(postfix.port, 'PLAIN', 'nosuchuser', 'x');
      const wrong = await swaksAuth(postfix.port, 'PLAIN', 'carol', 'x');
      assert.match(wrong, /^535 /);
      assert.equal(unknown, wrong);
      // smtpd keeps its connection between sessions; once idle_timeout has closed it, the next login reconnects.
      await sleep(2500);
      assert.match(await swaksAuth(postfix.port, 'PLAIN', 'carol', 'carol-pw'), /^235 /, postfix.log());
      assert.match(await swaksAuth(postfix.port, 'LOGIN', 'dave', 'dave-pw'), /^235 /, postfix.log());
      // The authenticated session may relay; the same mail without AUTH may not.
      assert.equal(await rcptReply(postfix.port, ['--auth', 'PLAIN', '--auth-user', 'carol', '--auth-password', 'carol-pw']), '250', postfix.log());
      assert.equal(await rcptReply(postfix.port, []), '554');
      // The password source unreadable: the FAIL is marked temp; Postfix 3.7 still answers 535, with the reason that says so.
      renameSync(etc.shadow, `${etc.shadow}.away`);
      try {
        assert.match(await swaksAuth(postfix.port, 'PLAIN', 'carol', 'carol-pw'), /^535 .*Temporary failure, try again later/, postfix.log());
      } finally {
        renameSync(`${etc.shadow}.away`, etc.shadow);
      }
      assert.match(await swaksAuth(postfix.port, 'PLAIN', 'carol', 'carol-pw'), /^235 /, postfix.log());
      // fail2ban's stock postfix[mode=auth] filter (Debian 12 ships no separate `sasl` one) bans from Postfix's own line for each refusal.
      const refusals = postfix.log().split('\n').filter((l) => /SASL (PLAIN|LOGIN) authentication failed/.test(l)).length;
      assert.ok(refusals >= 5, postfix.log());
      const f2b = await run('fail2ban-regex', ['-o', 'ip', join(postfix.dir, 'maillog'), '/etc/fail2ban/filter.d/postfix.conf[mode=auth]']);
      assert.deepEqual(f2b.stdout.split('\n').filter(Boolean), Array<string>(refusals).fill('127.0.0.1'), f2b.stdout + f2b.stderr);
    } finally {
      postfix.stop();
      await d?.stop();
    }
  });
});
