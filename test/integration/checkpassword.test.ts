import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { appendFileSync, chmodSync, chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CHECKPASSWORD, fd3Input, isNonBlocking, probeFacts, runCheckpassword, writeProbe } from '../helpers/checkpassword.js';
import { BIN, REPO, run, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { EtcTree, mkpasswd, tempDir } from '../helpers/fixtures.js';
import { saslpasswd2 } from '../helpers/sasldb.js';
import { VpopmailDb } from '../helpers/vpopmail-db.js';

const PROBE = writeProbe();
const SIGPIPE_BIT = 1n << 12n;
const SIGXFSZ_BIT = 1n << 24n;

/** A home owned by `uid`, reachable by it. */
function homeFor(uid: number, path: string): string {
  mkdirSync(path, { recursive: true });
  chownSync(path, uid, uid);
  return path;
}

/** A private /etc with system users, a root entry and the virtual users' owner, passwords set by chpasswd. */
function makeEtc() {
  const base = tempDir('authmux-cp-');
  chmodSync(base, 0o755);
  const etc = new EtcTree(join(base, 'root'));
  const carolHome = homeFor(4242, join(base, 'home/carol'));
  etc.addUser({ name: 'carol', uid: 4242, home: carolHome });
  etc.addUser({ name: 'toor', uid: 0, home: base });
  etc.addUser({ name: 'lost', uid: 4243, home: join(base, 'no/such/dir') });
  etc.addUser({ name: 'vmail', uid: 4300, home: homeFor(4300, join(base, 'vmail')) });
  etc.chpasswd('SHA512', [['carol', 'carol-pw'], ['toor', 'toor-pw'], ['lost', 'lost-pw'], ['vmail', 'vmail-pw']]);
  return { base, etc, carolHome };
}

function writeConfig(dir: string, lines: readonly string[]): string {
  const path = join(dir, `authmux-${Math.random().toString(36).slice(2)}.conf`);
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

describe('checkpassword, direct mode, system users', () => {
  const { base, etc, carolHome } = makeEtc();
  const config = writeConfig(base, ['mech: shadow', `passwd_file: ${etc.passwd}`, `shadow_file: ${etc.shadow}`]);
  const env = { AUTHMUX_CONFIG: config };

  test('a good login becomes the next program: its exit code, uid, home and environment', async () => {
    const r = await runCheckpassword(fd3Input('carol', 'carol-pw'), [PROBE, 'a1', 'a b'], env);
    assert.equal(r.code, 7, r.stderr);
    const f = probeFacts(r.stdout);
    assert.equal(f.get('uid'), '4242 gid 4242 groups 4242');
    assert.equal(f.get('cwd'), carolHome);
    assert.equal(f.get('USER'), 'carol');
    assert.equal(f.get('HOME'), carolHome);
    assert.equal(f.get('SHELL'), '/bin/sh');
    assert.equal(f.get('VPOPUSER'), 'unset');
    assert.equal(f.get('args'), 'a1 a b');
    assert.equal(f.get('fd3'), 'closed');
    assert.equal(r.stderr, '');
  });

  test('SERVICE set (as tcpserver chains do) never makes the next program run as root', async () => {
    // The attack: a system user's right password with SERVICE set used to exec `id` as uid 0.
    for (const extra of [{ SERVICE: 'pop3' }, { SERVICE: 'imap', ORIG_UID: '0' }, { SERVICE: 'pop3', ORIG_UID: '0', EXTRA: 'userdb_uid' }]) {
      const r = await runCheckpassword(fd3Input('carol', 'carol-pw'), [PROBE], { ...env, ...extra });
      assert.equal(r.code, 7, `${JSON.stringify(extra)}: ${r.stderr}`);
      assert.equal(probeFacts(r.stdout).get('uid'), '4242 gid 4242 groups 4242', JSON.stringify(extra));
      assert.equal(probeFacts(r.stdout).get('cwd'), carolHome);
    }
    const id = await runCheckpassword(fd3Input('carol', 'carol-pw'), ['id', '-u'], { ...env, SERVICE: 'pop3' });
    assert.equal(id.stdout.trim(), '4242', id.stderr);
  });

  test('runs under a 256 MB address-space limit, as Dovecot sets for its auth processes', async () => {
    const limited = ['prlimit', '--as=268435456', CHECKPASSWORD];
    const r = await runCheckpassword(fd3Input('carol', 'carol-pw'), [PROBE], env, limited);
    assert.equal(r.code, 7, r.stderr);
    assert.equal(probeFacts(r.stdout).get('uid'), '4242 gid 4242 groups 4242');
    assert.equal(r.stderr, '', 'nothing printed on the way');
    assert.equal((await runCheckpassword(fd3Input('carol', 'nope'), [PROBE], env, limited)).code, 1);
  });

  test('`authmux checkpassword` is the same program', async () => {
    const r = await runCheckpassword(fd3Input('carol', 'carol-pw'), [PROBE], env, [BIN, 'checkpassword']);
    assert.equal(r.code, 7, r.stderr);
    assert.equal(probeFacts(r.stdout).get('cwd'), carolHome);
    assert.equal((await runCheckpassword(fd3Input('carol', 'x'), [PROBE], env, [BIN, 'checkpassword'])).code, 1);
  });

  test('wrong password and unknown user exit 1 and run nothing', async () => {
    for (const [login, pw] of [['carol', 'carol-pX'], ['carol', ''], ['nobody-here', 'x'], ['', 'carol-pw']] as const) {
      const r = await runCheckpassword(fd3Input(login, pw), [PROBE], env);
      assert.equal(r.code, 1, `${login}/${pw}: ${r.stderr}`);
      assert.equal(r.stdout, '');
    }
  });

  test('an account with uid 0 is refused with exit 1 and logged', async () => {
    const r = await runCheckpassword(fd3Input('toor', 'toor-pw'), [PROBE], env);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /uid 0/);
  });

  test("an account whose group is root's is refused too (exit 1): gid 0 reaches most of the system's files", async () => {
    appendFileSync(etc.passwd, `gzero:x:4250:0::${base}:/bin/sh\n`);
    appendFileSync(etc.shadow, 'gzero:!:19000:0:99999:7:::\n');
    etc.chpasswd('SHA512', [['gzero', 'gzero-pw']]);
    const r = await runCheckpassword(fd3Input('gzero', 'gzero-pw'), [PROBE], env);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /gid 0/);
  });

  test('a home that cannot be entered, a missing program and an unreadable config are temporary (111)', async () => {
    const lost = await runCheckpassword(fd3Input('lost', 'lost-pw'), [PROBE], env);
    assert.equal(lost.code, 111);
    assert.match(lost.stderr, /chdir/);
    const missing = await runCheckpassword(fd3Input('carol', 'carol-pw'), [join(base, 'no-such-program')], env);
    assert.equal(missing.code, 111);
    assert.match(missing.stderr, /cannot run/);
    const noConfig = await runCheckpassword(fd3Input('carol', 'carol-pw'), [PROBE], { AUTHMUX_CONFIG: join(base, 'absent.conf') });
    assert.equal(noConfig.code, 111);
    const badConfig = await runCheckpassword(fd3Input('carol', 'carol-pw'), [PROBE], { AUTHMUX_CONFIG: writeConfig(base, ['mech: kerberos5']) });
    assert.equal(badConfig.code, 111);
    assert.match(badConfig.stderr, /configuration/);
  });

  test('misuse exits 2: no fd 3, one field, no program, more than 512 bytes', async () => {
    const noFd3 = await runCheckpassword(undefined, [PROBE], env);
    assert.equal(noFd3.code, 2);
    const oneField = await runCheckpassword(Buffer.from('carol\0'), [PROBE], env);
    assert.equal(oneField.code, 2);
    const noProg = await runCheckpassword(fd3Input('carol', 'carol-pw'), [], env);
    assert.equal(noProg.code, 2);
    const big = await runCheckpassword(fd3Input('carol', 'carol-pw', 'x'.repeat(600)), [PROBE], env);
    assert.equal(big.code, 2);
    for (const r of [noFd3, oneField, noProg, big]) {
      assert.equal(r.stdout, '');
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    }
  });

  test('the program sets SIGPIPE back to default for the next program', async () => {
    const r = await runCheckpassword(fd3Input('carol', 'carol-pw'), [PROBE], env);
    assert.equal(r.code, 7);
    const ign = BigInt(`0x${probeFacts(r.stdout).get('sigign')}`);
    assert.equal(ign & (SIGPIPE_BIT | SIGXFSZ_BIT), 0n);
  });
});

/** Free-ish loopback port for tcpserver, which cannot report the one it bound. */
function randomPort(): number {
  return 20000 + Math.floor(Math.random() * 20000);
}

async function waitForPort(port: number, proc: ChildProcess): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (proc.exitCode !== null) throw new Error(`tcpserver exited ${proc.exitCode}`);
    const ok = await new Promise<boolean>((r) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), r(true)));
      s.once('error', () => r(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`tcpserver did not listen on ${port}`);
}

/** One POP-like dialogue: send the login lines, read until the server closes. */
function dialogue(port: number, lines: readonly string[]): Promise<string> {
  return new Promise((resolveTalk, reject) => {
    const s = connect(port, '127.0.0.1');
    let out = '';
    s.on('data', (c) => (out += c.toString()));
    s.on('error', reject);
    s.on('close', () => resolveTalk(out));
    s.write(lines.map((l) => `${l}\r\n`).join(''));
    setTimeout(() => s.destroy(new Error(`no end of dialogue; got ${out}`)), 15_000).unref();
  });
}

describe('checkpassword under the real tcpserver, in a qmail-popup-like chain', () => {
  const { base, etc, carolHome } = makeEtc();
  const config = writeConfig(base, ['mech: shadow', `passwd_file: ${etc.passwd}`, `shadow_file: ${etc.shadow}`]);
  const fd4File = join(base, 'fd4');
  // qmail-popup's part: the login from the client, on fd 3 to checkpassword, which it forks and waits for.
  const popup = join(base, 'popup.sh');
  writeFileSync(popup, [
    '#!/bin/bash',
    'IFS= read -r user; user=${user%$\'\\r\'}',
    'IFS= read -r pass; pass=${pass%$\'\\r\'}',
    'echo "popup $$"',
    `"$@" 3< <(printf '%s\\0%s\\0\\0' "$user" "$pass") 4>>${fd4File} &`,
    'child=$!',
    'wait $child; code=$?',
    'echo "child $child"',
    'echo "exit $code"',
  ].join('\n') + '\n', { mode: 0o755 });
  const port = randomPort();
  let server: ChildProcess;
  let serverLog = '';

  before(async () => {
    server = spawn('tcpserver', ['-q', '-H', '-R', '-l', 'localhost', '127.0.0.1', String(port), popup, CHECKPASSWORD, PROBE], {
      stdio: ['ignore', 'ignore', 'pipe'],
      // SERVICE as a qmail-pop3d run script may set it: the uid switch must happen all the same.
      env: { PATH: process.env['PATH'], AUTHMUX_CONFIG: config, SERVICE: 'pop3' },
    });
    server.stderr!.on('data', (c: Buffer) => (serverLog += c.toString()));
    await waitForPort(port, server);
  });
  after(() => {
    server?.kill();
  });

  test('over a TCP connection the probe replaces the checkpassword process, fds blocking, fd 4 passed on', async () => {
    const out = await dialogue(port, ['carol', 'carol-pw']);
    const f = probeFacts(out);
    assert.equal(f.get('exit'), '7', `${out}\n${serverLog}`);
    assert.equal(f.get('pid'), f.get('child'), 'same pid: exec, not a child');
    assert.equal(f.get('ppid'), f.get('popup'), 'no Node process left between popup and the program');
    assert.equal(f.get('cwd'), carolHome);
    assert.equal(f.get('uid'), '4242 gid 4242 groups 4242');
    for (const fd of ['fd0', 'fd1', 'fd2']) assert.equal(isNonBlocking(f.get(fd)!), false, `${fd} is blocking, as tcpserver gave it`);
    assert.notEqual(f.get('fd4'), 'closed', 'fd 4 passed through');
    assert.equal(f.get('fd3'), 'closed');
    assert.equal(f.get('comm'), 'probe.sh');
  });

  test('a wrong password over TCP: exit 1, nothing run', async () => {
    const out = await dialogue(port, ['carol', 'nope']);
    const f = probeFacts(out);
    assert.equal(f.get('exit'), '1', out);
    assert.equal(f.has('pid'), false);
  });
});

describe('checkpassword with sasldb users: virtual owner, home template, APOP and CRAM-MD5', () => {
  const { base, etc } = makeEtc();
  const db = join(base, 'sasldb2');
  const mailRoot = join(base, 'mail');
  const daveHome = homeFor(4300, join(mailRoot, 'example.org/dave'));
  saslpasswd2(db, [{ user: 'dave', realm: 'example.org', password: Buffer.from('dave-pw') }]);
  const config = writeConfig(base, [
    'mech: sasldb', `sasldb_path: ${db}`, `passwd_file: ${etc.passwd}`, `shadow_file: ${etc.shadow}`,
    'virtual_user: vmail', `virtual_home: ${mailRoot}/%d/%u`,
  ]);
  const env = { AUTHMUX_CONFIG: config };
  const ts = '<4711.1700000000@pop.example.org>';

  test('a sasldb login runs as the virtual owner in its templated home', async () => {
    const r = await runCheckpassword(fd3Input('dave@example.org', 'dave-pw'), [PROBE], env);
    assert.equal(r.code, 7, r.stderr);
    const f = probeFacts(r.stdout);
    assert.equal(f.get('uid'), '4300 gid 4300 groups 4300');
    assert.equal(f.get('cwd'), daveHome);
    assert.equal(f.get('USER'), 'dave');
    assert.equal((await runCheckpassword(fd3Input('dave@example.org', 'dave-pX'), [PROBE], env)).code, 1);
    assert.equal((await runCheckpassword(fd3Input('dave@other.org', 'dave-pw'), [PROBE], env)).code, 1);
  });

  test('a login without a realm runs in the home of the default realm, where saslpasswd2 put the user', async () => {
    saslpasswd2(db, [{ user: 'erin', realm: 'mail-host', password: Buffer.from('erin-pw') }]);
    const conf = writeConfig(base, [
      'mech: sasldb', `sasldb_path: ${db}`, 'sasldb_default_realm: mail-host', `passwd_file: ${etc.passwd}`, `shadow_file: ${etc.shadow}`,
      'virtual_user: vmail', `virtual_home: ${mailRoot}/%d/%u`,
    ]);
    const home = homeFor(4300, join(mailRoot, 'mail-host/erin'));
    for (const login of ['erin', 'erin@mail-host']) {
      const r = await runCheckpassword(fd3Input(login, 'erin-pw'), [PROBE], { AUTHMUX_CONFIG: conf });
      assert.equal(r.code, 7, `${login}: ${r.stderr}`);
      assert.equal(probeFacts(r.stdout).get('cwd'), home, login);
    }
  });

  test('a sasldb name made to walk out of virtual_home is refused (exit 1), nothing runs anywhere', async () => {
    // saslpasswd2 stores any name; the home made from it must still stay under the template's base.
    saslpasswd2(db, [
      { user: '../../../x', realm: 'example.org', password: Buffer.from('walk-pw') },
      { user: 'a/b', realm: 'example.org', password: Buffer.from('walk-pw') },
      { user: '.x', realm: 'example.org', password: Buffer.from('walk-pw') },
      { user: 'eve', realm: '..', password: Buffer.from('walk-pw') },
    ]);
    for (const login of ['../../../x@example.org', 'a/b@example.org', '.x@example.org', 'eve@..']) {
      const r = await runCheckpassword(fd3Input(login, 'walk-pw'), [PROBE], env);
      assert.equal(r.code, 1, `${login}: ${r.stderr}`);
      assert.equal(r.stdout, '', `${login}: the next program never ran`);
      assert.match(r.stderr, /cannot be part of a home directory/);
    }
  });

  test('APOP for pop3: hex md5(timestamp + password) is accepted, a wrong digest is not', async () => {
    const digest = createHash('md5').update(ts + 'dave-pw').digest('hex');
    const ok = await runCheckpassword(fd3Input('dave@example.org', digest, ts), [PROBE], { ...env, TCPLOCALPORT: '110' });
    assert.equal(ok.code, 7, ok.stderr);
    const wrong = createHash('md5').update(ts + 'dave-pX').digest('hex');
    assert.equal((await runCheckpassword(fd3Input('dave@example.org', wrong, ts), [PROBE], { ...env, TCPLOCALPORT: '110' })).code, 1);
    // With a timestamp the plain password still works (qmail-popup sends one for USER/PASS too).
    assert.equal((await runCheckpassword(fd3Input('dave@example.org', 'dave-pw', ts), [PROBE], { ...env, TCPLOCALPORT: '110' })).code, 7);
  });

  test('CRAM-MD5 for smtp: hex hmac_md5(timestamp, password)', async () => {
    const digest = createHmac('md5', 'dave-pw').update(ts).digest('hex');
    assert.equal((await runCheckpassword(fd3Input('dave@example.org', digest, ts), [PROBE], { ...env, TCPLOCALPORT: '587' })).code, 7);
    // The APOP form is not the smtp answer.
    const apop = createHash('md5').update(ts + 'dave-pw').digest('hex');
    assert.equal((await runCheckpassword(fd3Input('dave@example.org', apop, ts), [PROBE], { ...env, TCPLOCALPORT: '587' })).code, 1);
  });
});

describe('checkpassword with vpopmail users (MariaDB)', () => {
  const { base, etc } = makeEtc();
  let db: VpopmailDb;
  let env: NodeJS.ProcessEnv;
  const erinDir = homeFor(4300, join(base, 'domains/example.com/erin'));

  before(async () => {
    const hash = mkpasswd('sha512crypt', 'erin-pw');
    db = await VpopmailDb.create('mysql', 'many-domains', ['example.com']);
    await db.addUsers([
      { name: 'erin', domain: 'example.com', hash, dir: erinDir },
      { name: 'nopop', domain: 'example.com', hash, dir: erinDir, flags: 0x02 },
      { name: 'clear', domain: 'example.com', hash: '', clear: 'clear-pw', dir: erinDir },
    ]);
    const config = writeConfig(base, [
      'mech: vpopmail', `vpopmail_sql: ${db.url}`, 'vpopmail_default_domain: example.com', 'vpopmail_clear_passwords: yes',
      `passwd_file: ${etc.passwd}`, 'virtual_user: vmail',
    ]);
    env = { AUTHMUX_CONFIG: config };
  });
  after(async () => {
    await db?.drop();
  });

  test('a vpopmail login runs as the vpopmail owner in the account directory, with VPOPUSER', async () => {
    for (const login of ['erin@example.com', 'erin', 'ERIN%example.com']) {
      const r = await runCheckpassword(fd3Input(login, 'erin-pw'), [PROBE], { ...env, TCPLOCALPORT: '110', TCPREMOTEIP: '192.0.2.7' });
      assert.equal(r.code, 7, `${login}: ${r.stderr}`);
      const f = probeFacts(r.stdout);
      assert.equal(f.get('uid'), '4300 gid 4300 groups 4300');
      assert.equal(f.get('cwd'), erinDir);
      assert.equal(f.get('VPOPUSER'), 'erin@example.com');
      assert.equal(f.get('SHELL'), 'NOLOGIN');
    }
    assert.equal((await runCheckpassword(fd3Input('erin@example.com', 'erin-pX'), [PROBE], env)).code, 1);
  });

  test('NO_POP refuses pop3 (port 110) but not imap (port 143)', async () => {
    const pop = await runCheckpassword(fd3Input('nopop@example.com', 'erin-pw'), [PROBE], { ...env, TCPLOCALPORT: '110' });
    assert.equal(pop.code, 1);
    assert.match(pop.stderr, /disabled/);
    assert.equal((await runCheckpassword(fd3Input('nopop@example.com', 'erin-pw'), [PROBE], { ...env, TCPLOCALPORT: '143' })).code, 7);
  });

  test('APOP against a clear password', async () => {
    const ts = '<1.2@pop>';
    const digest = createHash('md5').update(ts + 'clear-pw').digest('hex');
    assert.equal((await runCheckpassword(fd3Input('clear@example.com', digest, ts), [PROBE], { ...env, TCPLOCALPORT: '110' })).code, 7);
  });

  test('the database unreachable is 111, not a failed login', async () => {
    const down = writeConfig(base, ['mech: vpopmail', 'vpopmail_sql: mysql://root@127.0.0.1:1/none', 'vpopmail_query_timeout: 2', `passwd_file: ${etc.passwd}`, 'virtual_user: vmail']);
    const r = await runCheckpassword(fd3Input('erin@example.com', 'erin-pw'), [PROBE], { AUTHMUX_CONFIG: down });
    assert.equal(r.code, 111, r.stderr);
  });
});

describe('checkpassword asking the running daemon (checkpassword_socket)', () => {
  const { base, etc, carolHome } = makeEtc();
  const socket = join(base, 'checkpassword.sock');
  const lines = ['mech: shadow', `passwd_file: ${etc.passwd}`, `shadow_file: ${etc.shadow}`, `checkpassword_socket: ${socket}`, 'cache: yes'];
  let d: RunningDaemon;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    d = await startDaemon({ config: lines.join('\n') });
    env = { AUTHMUX_CONFIG: d.configFile };
  });
  after(async () => {
    await d?.stop();
  });

  test('the daemon decides and returns the account: uid, gid and home reach the next program', async () => {
    for (let i = 0; i < 2; i++) {
      // The second time is a cache hit, which must still carry the account.
      const r = await runCheckpassword(fd3Input('carol', 'carol-pw'), [PROBE], env);
      assert.equal(r.code, 7, r.stderr);
      const f = probeFacts(r.stdout);
      assert.equal(f.get('uid'), '4242 gid 4242 groups 4242');
      assert.equal(f.get('cwd'), carolHome);
    }
    assert.equal((await runCheckpassword(fd3Input('carol', 'carol-pX'), [PROBE], env)).code, 1);
    assert.equal((await runCheckpassword(fd3Input('toor', 'toor-pw'), [PROBE], env)).code, 1);
  });

  test("TCPREMOTEIP counts in the daemon's per-address penalty: after two failures from it, the next login waits", async () => {
    const from = { ...env, TCPREMOTEIP: '192.0.2.44' };
    for (const pw of ['cp-wrong-1', 'cp-wrong-2']) assert.equal((await runCheckpassword(fd3Input('carol', pw), [PROBE], from)).code, 1);
    const started = Date.now();
    const r = await runCheckpassword(fd3Input('carol', 'carol-pw'), [PROBE], from);
    assert.equal(r.code, 7, r.stderr);
    assert.ok(Date.now() - started >= 3900, `held back ${Date.now() - started} ms after two failures`);
    const other = Date.now();
    assert.equal((await runCheckpassword(fd3Input('carol', 'carol-pw'), [PROBE], { ...env, TCPREMOTEIP: '192.0.2.45' })).code, 7);
    assert.ok(Date.now() - other < 1500, 'another address is not held back');
  });

  test('the saslauthd socket still answers its own clients byte for byte', async () => {
    const { askSaslauthd } = await import('../../src/cli/testsaslauthd.js');
    assert.equal(await askSaslauthd(d.socket, ['carol', 'carol-pw', 'imap', '']), 'OK');
  });

  test('garbage on the checkpassword socket is refused, the daemon keeps serving', async () => {
    const reply = await new Promise<Buffer>((resolveReply) => {
      const s = connect(socket);
      const parts: Buffer[] = [];
      s.on('data', (c) => parts.push(c));
      s.on('close', () => resolveReply(Buffer.concat(parts)));
      s.on('error', () => resolveReply(Buffer.concat(parts)));
      s.end(Buffer.from([0xff, 0xff, 1, 2, 3]));
    });
    assert.doesNotMatch(reply.toString('latin1'), /OK/);
    assert.equal((await runCheckpassword(fd3Input('carol', 'carol-pw'), [PROBE], env)).code, 7);
  });

  test('the daemon down is 111, not a failed login', async () => {
    await d.stop();
    const r = await runCheckpassword(fd3Input('carol', 'carol-pw'), [PROBE], env);
    assert.equal(r.code, 111);
    assert.equal(r.stdout, '');
  });
});

/**
 * A private Dovecot 2.3 whose passdb is the program, with `services` as the
 * only service settings; `auth login` runs passdb then userdb (prefetch), so
 * the ids and home checkpassword returned are printed.
 */
function dovecotWith(base: string, authmuxConfig: string, services: readonly string[]) {
  const dir = join(base, 'dovecot');
  const conf = join(dir, 'dovecot.conf');
  let started = false;
  return {
    dir,
    async start() {
      mkdirSync(join(dir, 'run'), { recursive: true });
      mkdirSync(join(dir, 'state'), { recursive: true });
      writeFileSync(conf, [
        `base_dir = ${dir}/run`,
        `state_dir = ${dir}/state`,
        `log_path = ${dir}/dovecot.log`,
        'protocols =',
        'listen = 127.0.0.1',
        'ssl = no',
        'auth_mechanisms = plain',
        'auth_verbose = yes',
        'import_environment = TZ AUTHMUX_CONFIG',
        `passdb {\n  driver = checkpassword\n  args = ${CHECKPASSWORD}\n}`,
        'userdb {\n  driver = prefetch\n}',
        ...services,
      ].join('\n') + '\n');
      const r = spawn('dovecot', ['-c', conf], { stdio: 'inherit', env: { PATH: process.env['PATH'], AUTHMUX_CONFIG: authmuxConfig } });
      await new Promise((res) => r.on('close', res));
      started = true;
      for (let i = 0; i < 100; i++) {
        try {
          readFileSync(join(dir, 'run/master.pid'));
          return;
        } catch {
          await sleep(50);
        }
      }
    },
    async stop() {
      if (started) await new Promise((res) => spawn('doveadm', ['-c', conf, 'stop'], { stdio: 'ignore' }).on('close', res));
    },
    login(user: string, pw: string) {
      return new Promise<{ code: number | null; out: string }>((res) => {
        const p = spawn('doveadm', ['-c', conf, 'auth', 'login', '-x', 'service=pop3', '-x', 'rip=192.0.2.9', user, pw], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        p.stdout.on('data', (c: Buffer) => (out += c.toString()));
        p.stderr.on('data', (c: Buffer) => (out += c.toString()));
        p.on('close', (code) => res({ code, out }));
      });
    },
  };
}

async function assertDovecotLogins(dovecot: ReturnType<typeof dovecotWith>, carolHome: string): Promise<void> {
  const ok = await dovecot.login('carol', 'carol-pw');
  assert.equal(ok.code, 0, ok.out + readLog(dovecot.dir));
  assert.match(ok.out, /auth succeeded/);
  assert.match(ok.out, /^\s*uid=4242$/m);
  assert.match(ok.out, /^\s*gid=4242$/m);
  assert.match(ok.out, new RegExp(`^\\s*home=${carolHome}$`, 'm'));
  const bad = await dovecot.login('carol', 'carol-pX');
  assert.notEqual(bad.code, 0);
  assert.match(bad.out, /auth failed/);
  assert.doesNotMatch(readLog(dovecot.dir), /Fatal process OOM|Failed to reserve virtual memory/);
}

describe('checkpassword as the real Dovecot 2.3 passdb, checking itself (auth service as root)', () => {
  const { base, etc, carolHome } = makeEtc();
  const config = writeConfig(base, ['mech: shadow', `passwd_file: ${etc.passwd}`, `shadow_file: ${etc.shadow}`]);
  // Root, so the program can read the shadow file itself; the address-space limit stays Dovecot's default.
  const dovecot = dovecotWith(base, config, ['service auth {\n  user = root\n}', 'service auth-worker {\n  user = root\n}']);
  before(() => dovecot.start());
  after(() => dovecot.stop());

  test('doveadm auth login: a good login succeeds and carries uid, gid and home back, a wrong one fails', async () => {
    await assertDovecotLogins(dovecot, carolHome);
  });

  test('uid 0 is refused under Dovecot too', async () => {
    const r = await dovecot.login('toor', 'toor-pw');
    assert.notEqual(r.code, 0);
    assert.match(r.out, /auth failed/);
  });

  test("Authmux's fail2ban filter finds rip in Dovecot's log once per refused password, never an address a login name carries", async () => {
    for (const pw of ['guess-a', 'guess-b']) assert.notEqual((await dovecot.login('carol', pw)).code, 0);
    // Dovecot logs this name unescaped in its own line (a disallowed character): it must not read as ours.
    const planted = 'x authmux-checkpassword: auth failure [user=a] [service=b] [client=198.51.100.77]: y';
    assert.notEqual((await dovecot.login(planted, 'whatever')).code, 0);
    assert.match(readLog(dovecot.dir), /198\.51\.100\.77/, 'the planted line is in the log');
    const refused = readLog(dovecot.dir).split('\n').filter((l) => /authmux-checkpassword: auth failure .*\[client=192\.0\.2\.9\]/.test(l)).length;
    assert.ok(refused >= 2, readLog(dovecot.dir));
    const { stdout } = await run('fail2ban-regex', ['-o', 'ip', join(dovecot.dir, 'dovecot.log'), join(REPO, 'contrib/fail2ban/filter.d/authmux.conf')]);
    assert.deepEqual(stdout.split('\n').filter(Boolean), Array<string>(refused).fill('192.0.2.9'), stdout);
  });
});

describe("checkpassword under Dovecot's default auth service (its own user, 256 MB address space), asking the daemon", () => {
  const { base, etc, carolHome } = makeEtc();
  const socket = join(base, 'checkpassword.sock');
  let d: RunningDaemon;
  const dovecot = dovecotWith(base, join(base, 'authmux.conf'), []);

  before(async () => {
    d = await startDaemon({ config: ['mech: shadow', `passwd_file: ${etc.passwd}`, `shadow_file: ${etc.shadow}`, `checkpassword_socket: ${socket}`].join('\n') });
    writeFileSync(join(base, 'authmux.conf'), readFileSync(d.configFile));
    await dovecot.start();
  });
  after(async () => {
    await dovecot.stop();
    await d?.stop();
  });

  test('doveadm auth login succeeds with no service setting changed, and a wrong password fails', async () => {
    await assertDovecotLogins(dovecot, carolHome);
  });
});

function readLog(dir: string): string {
  try {
    return readFileSync(join(dir, 'dovecot.log'), 'utf8');
  } catch {
    return '';
  }
}
