import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeRequest } from '../../src/protocol/saslauthd.js';
import { fd3Input, probeFacts, runCheckpassword, writeProbe } from '../helpers/checkpassword.js';
import { startDaemon, testsaslauthd, type RunningDaemon } from '../helpers/daemon.js';
import { PrivateDovecotImap, TestCa } from '../helpers/dovecot-imap.js';
import { EtcTree, freePort, tempDir } from '../helpers/fixtures.js';
import { MountNamespace } from '../helpers/mount-namespace.js';
import { rawExchange, replyString } from '../helpers/raw-client.js';
import { SystemAccounts } from '../helpers/system-accounts.js';

const TEMP = 'NO Temporary failure, try again later';
const OK = 'OK remote authentication successful';
const NO = 'NO remote server rejected your credentials';

/** Fields as raw bytes: logins and passwords here hold UTF-8, quotes, CR and LF. */
async function reply(socket: string, user: string | Buffer, password: string | Buffer, service = 'imap'): Promise<string> {
  const r = await rawExchange(socket, encodeRequest([Buffer.from(user), Buffer.from(password), service, '', '192.0.2.7;50123']), { timeoutMs: 20_000 });
  return r.kind === 'reply' ? replyString(r.bytes) : r.kind;
}

/** The real saslauthd from sasl2-bin, -a rimap, on a run directory and process group of its own. */
async function startRealSaslauthd(args: readonly string[], launcher: readonly string[] = []): Promise<{ socket: string; proc: ChildProcess; output: () => string; stop(): Promise<void> }> {
  const dir = tempDir('authmux-real-rimap-');
  const [cmd, ...pre] = [...launcher, '/usr/sbin/saslauthd'];
  const proc = spawn(cmd!, [...pre, '-a', 'rimap', ...args, '-m', dir, '-n', '2', '-d'], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  proc.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  proc.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const socket = join(dir, 'mux');
  for (let i = 0; i < 100 && !existsSync(socket) && proc.exitCode === null; i++) await sleep(50);
  return {
    socket,
    proc,
    output: () => output,
    stop: () =>
      new Promise<void>((r) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return r();
        proc.once('exit', () => r());
        process.kill(-proc.pid!, 'SIGKILL');
      }),
  };
}

/** A password that, sent raw inside a quoted string, ends the LOGIN line and logs bob in. */
const INJECTION = 'x\r\nA3 LOGIN bob bob-pw\r\nA4 NOOP';

/** Users whose passwords take every path of the encoder: quoted, escaped, literal. */
const USERS: ReadonlyArray<readonly [string, string | Buffer]> = [
  ['alice', 'alice-pw'],
  ['bob', 'bob-pw'],
  ['quoter', 'q"uo\\te d'],
  ['utf', 'pä"ss\\wörd'],
  ['zoë', 'zoe-pw'],
  ['o"dd\\one', 'odd-pw'],
];

describe('-a rimap against Dovecot\'s IMAP server', () => {
  const dir = tempDir('authmux-rimap-');
  const ca = new TestCa(dir, 'authmux-test-ca');
  const otherCa = new TestCa(dir, 'another-ca');
  let imap: PrivateDovecotImap;
  let plain: RunningDaemon, starttls: RunningDaemon, imaps: RunningDaemon;

  before(async () => {
    imap = await PrivateDovecotImap.create(ca.issue('imap', ['DNS:localhost', 'IP:127.0.0.1']), USERS);
    await imap.start();
    plain = await startDaemon({ args: ['-a', 'rimap', '-O', `127.0.0.1/${imap.plainPort}`, '-V'], config: 'rimap_timeout: 5\n' });
    // The server from the key this time, and the file from -O as with any mechanism.
    starttls = await startDaemon({ args: ['-V'], config: `mech: rimap\nrimap_server: 127.0.0.1/${imap.plainPort}\nrimap_tls: starttls\nrimap_tls_cacert_file: ${ca.cert}\nrimap_timeout: 5\n` });
    imaps = await startDaemon({ args: ['-a', 'rimap', '-O', `localhost/${imap.imapsPort}`, '-V'], config: `rimap_tls: imaps\nrimap_tls_cacert_file: ${ca.cert}\nrimap_timeout: 5\n` });
  });
  after(async () => {
    await Promise.all([plain?.stop(), starttls?.stop(), imaps?.stop()]);
    await imap?.stop();
  });

  test('plain: the right password OK, a wrong one and an unknown user NO; Cyrus\'s testsaslauthd agrees', async () => {
    assert.equal(await reply(plain.socket, 'alice', 'alice-pw'), OK);
    assert.equal(await reply(plain.socket, 'alice', 'alice-pX'), NO);
    assert.equal(await reply(plain.socket, 'nobody-here', 'x'), NO);
    assert.equal((await testsaslauthd(plain.socket, 'alice', 'alice-pw')).stdout, '0: OK "Success."\n');
    assert.equal((await testsaslauthd(plain.socket, 'alice', 'wrong')).code, 255);
    await plain.waitForLog(/auth failure: \[user=nobody-here\] \[service=imap\] \[realm=\] \[mech=rimap\] \[reason=remote server rejected the credentials: NO \(AUTHENTICATIONFAILED\) Authentication failed\.\]/);
    // LOGOUT went after each: Dovecot's own words for a session the client ended.
    await waitFor(() => /imap\(alice\)<\d+><[^>]+>: Info: Disconnected: Logged out/.test(imap.log()) && /Aborted login by logging out \(auth failed/.test(imap.log()), imap);
  });

  test('passwords with " \\ and UTF-8, logins with UTF-8, " and \\: each reaches Dovecot whole', async () => {
    for (const [user, pw] of USERS) {
      assert.equal(await reply(plain.socket, user, pw), OK, `${user} over plain`);
      assert.equal(await reply(starttls.socket, user, pw), OK, `${user} over STARTTLS`);
      assert.equal(await reply(plain.socket, user, `${pw.toString()}x`), NO, `${user} with one byte more`);
    }
  });

  test('a password that tries to end LOGIN and log in as another user is one wrong password; bob is never logged in', async () => {
    const before = imap.log().length;
    assert.equal(await reply(plain.socket, 'alice', INJECTION), NO);
    assert.equal(await reply(plain.socket, 'alice', 'x"\r\nA3 LOGIN "bob" "bob-pw'), NO);
    await sleep(300);
    const added = imap.log().slice(before);
    assert.doesNotMatch(added, /imap\(bob\)|user=<bob>/);
    // The CR LF arrived inside alice's password (Dovecot takes no password with them), not as a line end.
    assert.match(added, /password having illegal chars/);
    assert.match(added, /auth failed.*user=<alice>/);
  });

  test('STARTTLS: the login goes over TLS, checked against rimap_tls_cacert_file', async () => {
    const before = imap.log().length;
    assert.equal(await reply(starttls.socket, 'alice', 'alice-pw'), OK);
    assert.equal(await reply(starttls.socket, 'alice', 'alice-pX'), NO);
    await waitFor(() => /Login: user=<alice>, method=PLAIN, rip=127\.0\.0\.1, lip=127\.0\.0\.1, mpid=\d+, TLS,/.test(imap.log().slice(before)), imap);
  });

  test('IMAPS, the certificate\'s DNS name checked (localhost)', async () => {
    const before = imap.log().length;
    assert.equal(await reply(imaps.socket, 'alice', 'alice-pw'), OK);
    assert.equal(await reply(imaps.socket, 'utf', 'pä"ss\\wörd'), OK);
    assert.equal(await reply(imaps.socket, 'alice', 'nope'), NO);
    await waitFor(() => /Login: user=<alice>.*, TLS,/.test(imap.log().slice(before)), imap);
  });

  test('a certificate from another CA, or not naming the host: a temporary failure, and no password reaches the server', async () => {
    const wrongCa = await startDaemon({ args: ['-a', 'rimap', '-O', `127.0.0.1/${imap.imapsPort}`], config: `rimap_tls: imaps\nrimap_tls_cacert_file: ${otherCa.cert}\n` });
    // The system's store (no CA file) does not hold the test CA either.
    const systemStore = await startDaemon({ args: ['-a', 'rimap', '-O', `127.0.0.1/${imap.plainPort}`], config: 'rimap_tls: starttls\n' });
    // 127.0.0.2 is the same server, whose certificate names localhost and 127.0.0.1 only.
    const wrongName = await startDaemon({ args: ['-a', 'rimap', '-O', `127.0.0.2/${imap.imapsPort}`], config: `rimap_tls: imaps\nrimap_tls_cacert_file: ${ca.cert}\n` });
    try {
      const before = imap.log().length;
      assert.equal(await reply(wrongCa.socket, 'alice', 'alice-pw'), TEMP);
      await wrongCa.waitForLog(/auth temporary failure: \[user=alice\].*\[reason=IMAP server 127\.0\.0\.1\/\d+: self.signed certificate in certificate chain|unable to verify/);
      assert.equal(await reply(systemStore.socket, 'alice', 'alice-pw'), TEMP);
      await systemStore.waitForLog(/rimap: IMAP server 127\.0\.0\.1\/\d+ \(starttls, CAs from \/etc\/ssl\/certs\/ca-certificates\.crt\)/);
      await systemStore.waitForLog(/auth temporary failure: \[user=alice\].*(self.signed|unable to verify)/);
      assert.equal(await reply(wrongName.socket, 'alice', 'alice-pw'), TEMP);
      await wrongName.waitForLog(/auth temporary failure: \[user=alice\].*IP: 127\.0\.0\.2 is not in the cert's list/);
      await sleep(300);
      assert.doesNotMatch(imap.log().slice(before), /user=<alice>/, 'Dovecot saw no login attempt');
    } finally {
      await Promise.all([wrongCa.stop(), systemStore.stop(), wrongName.stop()]);
    }
  });

  test('a server that announces LOGINDISABLED (not a secure connection for it) is never sent the password; the real saslauthd sends it', async () => {
    const d = await startDaemon({ args: ['-a', 'rimap', '-O', `127.0.0.2/${imap.plainPort}`], config: '' });
    const real = await startRealSaslauthd(['-O', `127.0.0.2/${imap.plainPort}`]);
    try {
      const before = imap.log().length;
      assert.equal(await reply(d.socket, 'alice', 'alice-pw'), TEMP);
      await d.waitForLog(/\[reason=IMAP server 127\.0\.0\.2\/\d+: the server refuses LOGIN here \(LOGINDISABLED\): it wants TLS, set rimap_tls: starttls or imaps; the password was not sent\]/);
      await waitFor(() => /Disconnected: Connection closed \(no auth attempts in \d+ secs\).*rip=127\.0\.0\.1, lip=127\.0\.0\.2/.test(imap.log().slice(before)), imap);
      assert.doesNotMatch(imap.log().slice(before), /Plaintext authentication disabled/);
      // saslauthd ignores the announcement: the password crosses in the clear, and the refusal reads as a wrong password.
      assert.equal(await reply(real.socket, 'alice', 'alice-pw'), 'NO [ALERT] Unexpected response from remote authentication server');
      await waitFor(() => /Login failed: Plaintext authentication disabled: .*lip=127\.0\.0\.2/.test(imap.log().slice(before)), imap);
    } finally {
      await real.stop();
      await d.stop();
    }
  });

  test('in a chain, -a shadow,rimap -O host: shadow\'s users answered by shadow, the others by the IMAP server in its words', async () => {
    const etc = new EtcTree(join(dir, 'chain'));
    etc.addUser({ name: 'carol', uid: 4242 });
    etc.chpasswd('SHA512', [['carol', 'carol-pw']]);
    const d = await startDaemon({ args: ['-a', 'shadow,rimap', '-O', `127.0.0.1/${imap.plainPort}`], config: `passwd_file: ${etc.passwd}\nshadow_file: ${etc.shadow}\n` });
    try {
      assert.equal(await reply(d.socket, 'carol', 'carol-pw'), 'OK');
      assert.equal(await reply(d.socket, 'carol', 'alice-pw'), 'NO Incorrect password');
      assert.equal(await reply(d.socket, 'alice', 'alice-pw'), OK);
      assert.equal(await reply(d.socket, 'alice', 'carol-pw'), NO);
      await d.waitForLog(/auth failure: \[user=alice\].*\[mech=rimap\]/);
    } finally {
      await d.stop();
    }
  });

  test('the checkpassword program with mech rimap: the IMAP server checks, the system account of that name runs', async () => {
    const accounts = new SystemAccounts();
    try {
      const home = join(dir, 'cp-home');
      mkdirSync(home);
      chmodSync(dir, 0o755);
      const user = await accounts.add('cp', 'not-the-imap-password', 'SHA512', home);
      await imap.setUsers([...USERS, [user, 'imap-pw']]);
      const uid = Number(execFileSync('id', ['-u', user]).toString().trim());
      chownSync(home, uid, uid);
      const config = join(dir, 'cp.conf');
      writeFileSync(config, `mech: rimap\nrimap_server: 127.0.0.1/${imap.plainPort}\n`);
      const probe = writeProbe();
      const env = { AUTHMUX_CONFIG: config, SERVICE: 'pop3' };
      const ok = await runCheckpassword(fd3Input(user, 'imap-pw'), [probe], env);
      assert.equal(ok.code, 7, ok.stderr);
      assert.equal(probeFacts(ok.stdout).get('uid'), `${uid} gid ${uid} groups ${uid}`);
      assert.equal((await runCheckpassword(fd3Input(user, 'not-the-imap-password'), [probe], env)).code, 1);
      // An IMAP user with no system account is never run as anyone.
      assert.equal((await runCheckpassword(fd3Input('alice', 'alice-pw'), [probe], env)).code, 1);
    } finally {
      await imap.setUsers(USERS);
      await accounts.remove();
    }
  });
});

describe('-a rimap: replies byte for byte as the real saslauthd -a rimap -O 127.0.0.1/port', () => {
  const dir = tempDir('authmux-rimap-parity-');
  const ca = new TestCa(dir, 'authmux-test-ca');
  let imap: PrivateDovecotImap;

  before(async () => {
    imap = await PrivateDovecotImap.create(ca.issue('imap', ['IP:127.0.0.1']), USERS);
    await imap.start();
  });
  after(() => imap?.stop());

  test('success, wrong password, unknown user, quoted passwords; with -c, the cached success', async () => {
    const server = `127.0.0.1/${imap.plainPort}`;
    const d = await startDaemon({ args: ['-a', 'rimap', '-O', server, '-c'] });
    const real = await startRealSaslauthd(['-O', server, '-c']);
    try {
      const cases: Array<[string, string]> = [
        ['alice', 'alice-pw'],
        ['alice', 'alice-pw'],
        ['alice', 'alice-pX'],
        ['nobody-here', 'x'],
        ['quoter', 'q"uo\\te d'],
        ['quoter', 'q"uo\\te'],
        ['utf', 'pä"ss\\wörd'],
        ['zoë', 'zoe-pw'],
        ['o"dd\\one', 'odd-pw'],
      ];
      const ours: string[] = [];
      const theirs: string[] = [];
      for (const [u, p] of cases) {
        ours.push(await reply(d.socket, u, p));
        theirs.push(await reply(real.socket, u, p));
      }
      assert.deepEqual(ours, theirs);
      assert.deepEqual(ours, [OK, 'OK', NO, NO, OK, NO, OK, OK, OK]);
    } finally {
      await real.stop();
      await d.stop();
    }
  });

  test('where saslauthd answers a failure of its own, Authmux says "try again": the server down', async () => {
    const down = `127.0.0.1/${await freePort()}`;
    const d = await startDaemon({ args: ['-a', 'rimap', '-O', down] });
    const real = await startRealSaslauthd(['-O', down]);
    try {
      assert.equal(await reply(real.socket, 'alice', 'alice-pw'), 'NO [ALERT] Couldn\'t contact remote authentication server');
      assert.equal(await reply(d.socket, 'alice', 'alice-pw'), TEMP);
      await d.waitForLog(/auth temporary failure: \[user=alice\].*\[reason=IMAP server 127\.0\.0\.1\/\d+: connect ECONNREFUSED 127\.0\.0\.1:\d+\]/);
    } finally {
      await real.stop();
      await d.stop();
    }
  });

  test('a password with CR LF: saslauthd sends it raw, and its second line logs bob in on saslauthd\'s connection; Authmux sends a literal', async () => {
    const server = `127.0.0.1/${imap.plainPort}`;
    const d = await startDaemon({ args: ['-a', 'rimap', '-O', server] });
    const real = await startRealSaslauthd(['-O', server]);
    try {
      let before = imap.log().length;
      assert.equal(await reply(d.socket, 'alice', INJECTION), NO);
      await sleep(300);
      assert.doesNotMatch(imap.log().slice(before), /user=<bob>/);
      before = imap.log().length;
      assert.equal(await reply(real.socket, 'alice', INJECTION), 'NO [ALERT] Unexpected response from remote authentication server');
      await waitFor(() => /Login: user=<bob>, method=PLAIN/.test(imap.log().slice(before)), imap);
    } finally {
      await real.stop();
      await d.stop();
    }
  });
});

describe('-a rimap: the server down, then back; a cached success lives rimap_cache_ttl', () => {
  const dir = tempDir('authmux-rimap-updown-');
  const ca = new TestCa(dir, 'authmux-test-ca');
  let imap: PrivateDovecotImap;
  let d: RunningDaemon;

  before(async () => {
    imap = await PrivateDovecotImap.create(ca.issue('imap', ['IP:127.0.0.1']), [['alice', 'alice-pw'], ['dave', 'dave-pw']]);
    await imap.start();
    d = await startDaemon({ args: ['-a', 'rimap', '-O', `127.0.0.1/${imap.plainPort}`, '-c', '-V'], config: 'rimap_cache_ttl: 3\n' });
  });
  after(async () => {
    await d?.stop();
    await imap?.stop();
  });

  test('Dovecot stopped: a temporary failure, never a wrong password; started again: answered, with no restart', async () => {
    await imap.stop();
    assert.equal(await reply(d.socket, 'alice', 'alice-pw'), TEMP);
    assert.equal(await reply(d.socket, 'alice', 'wrong'), TEMP);
    await imap.start();
    assert.equal(await reply(d.socket, 'alice', 'alice-pw'), OK);
    assert.equal(await reply(d.socket, 'alice', 'wrong'), NO);
  });

  test('Dovecot\'s user database unreadable: it answers NO [UNAVAILABLE], which is "try again" here; saslauthd calls it a wrong password', async () => {
    const real = await startRealSaslauthd(['-O', `127.0.0.1/${imap.plainPort}`]);
    try {
      await imap.breakUsers();
      // dave, with his right password, not yet in the cache.
      assert.equal(await reply(d.socket, 'dave', 'dave-pw'), TEMP);
      await d.waitForLog(/\[user=dave\].*\[reason=the IMAP server could not check the password: NO \(UNAVAILABLE\) Temporary authentication failure\./);
      assert.equal(await reply(real.socket, 'dave', 'dave-pw'), NO);
    } finally {
      await real.stop();
      await imap.setUsers([['alice', 'alice-pw'], ['dave', 'dave-pw']]);
    }
    assert.equal(await reply(d.socket, 'dave', 'dave-pw'), OK);
  });

  test('a password changed on the server: the old one answers from the cache for at most rimap_cache_ttl, the new one at once', async () => {
    await imap.setUsers([['alice', 'first-pw']]);
    const t0 = Date.now();
    assert.equal(await reply(d.socket, 'alice', 'first-pw'), OK);
    assert.equal(await reply(d.socket, 'alice', 'first-pw'), 'OK');
    await d.waitForLog(/auth success: \[user=alice\] \[service=imap\] \[realm=\] \[mech=rimap\] \[reason=cached\]/);
    await imap.setUsers([['alice', 'second-pw']]);
    // The trade-off rimap_cache_ttl bounds: the server no longer takes it, the cache still does.
    assert.equal(await reply(d.socket, 'alice', 'first-pw'), 'OK');
    assert.equal(await reply(d.socket, 'alice', 'second-pw'), OK, 'another password is never taken from the cache');
    await sleep(Math.max(0, t0 + 3200 - Date.now()));
    assert.equal(await reply(d.socket, 'alice', 'first-pw'), NO, 'past rimap_cache_ttl the server is asked again');
  });
});

describe('-a rimap with DNS down at start (cyrus-sasl #493), in a private mount namespace', () => {
  const dir = tempDir('authmux-rimap-dns-');
  const ca = new TestCa(dir, 'authmux-test-ca');
  const hosts = join(dir, 'hosts');
  const resolv = join(dir, 'resolv.conf');
  let imap: PrivateDovecotImap;
  let ns: MountNamespace;

  before(async () => {
    imap = await PrivateDovecotImap.create(ca.issue('imap', ['DNS:imap.authmux.test']), [['alice', 'alice-pw']]);
    await imap.start();
    // No name in the hosts file, and a name server that does not answer: every lookup fails.
    writeFileSync(hosts, '127.0.0.1 localhost\n');
    writeFileSync(resolv, 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n');
    ns = await MountNamespace.open();
    await ns.bind(hosts, '/etc/hosts');
    await ns.bind(resolv, '/etc/resolv.conf');
  });
  after(async () => {
    ns?.close();
    await imap?.stop();
  });

  test('Authmux starts, a check fails for now; once the name resolves, the next check is answered with no restart; saslauthd does not start', async () => {
    const enter = ns.enter;
    const server = `imap.authmux.test/${imap.plainPort}`;
    const real = await startRealSaslauthd(['-O', server], enter);
    await new Promise((r) => (real.proc.exitCode !== null ? r(null) : real.proc.once('exit', r)));
    assert.notEqual(real.proc.exitCode, 0);
    assert.match(real.output(), /failed to initialize mechanism rimap/);
    const d = await startDaemon({ args: ['-a', 'rimap', '-O', server], config: `rimap_tls: starttls\nrimap_tls_cacert_file: ${ca.cert}\nrimap_timeout: 5\n`, launcher: enter });
    try {
      assert.equal(await reply(d.socket, 'alice', 'alice-pw'), TEMP);
      await d.waitForLog(/auth temporary failure: \[user=alice\].*\[reason=IMAP server imap\.authmux\.test\/\d+: getaddrinfo (EAI_AGAIN|ENOTFOUND) imap\.authmux\.test\]/);
      // The name comes back (written in place: the bind mount shows the same file).
      writeFileSync(hosts, '127.0.0.1 localhost imap.authmux.test\n');
      assert.equal(await reply(d.socket, 'alice', 'alice-pw'), OK);
      assert.equal(await reply(d.socket, 'alice', 'alice-pX'), NO);
    } finally {
      await d.stop();
    }
  });
});

describe('-a rimap against servers Dovecot cannot imitate', () => {
  test('one that never answers: the MTA gets "try again" after rimap_timeout, three at once', async () => {
    const held = createServer((s) => s.on('error', () => undefined));
    await new Promise<void>((r) => held.listen(0, '127.0.0.1', r));
    const port = (held.address() as { port: number }).port;
    const d = await startDaemon({ args: ['-a', 'rimap', '-O', `127.0.0.1/${port}`, '-n', '4'], config: 'rimap_timeout: 1\n' });
    try {
      const t0 = Date.now();
      const replies = await Promise.all([1, 2, 3].map(() => reply(d.socket, 'alice', 'alice-pw')));
      assert.deepEqual(replies, [TEMP, TEMP, TEMP]);
      assert.ok(Date.now() - t0 < 3000, 'three at once, each given up after 1 s');
      await d.waitForLog(/\[reason=IMAP server 127\.0\.0\.1\/\d+: no answer within 1 s\]/);
    } finally {
      await d.stop();
      held.close();
    }
  });

  test('one that sends an endless line: "try again" at once, the daemon\'s memory unharmed', async () => {
    const flood = createServer((s) => {
      s.on('error', () => undefined);
      const chunk = Buffer.alloc(65536, 0x41);
      const pump = () => {
        while (!s.destroyed && s.write(chunk));
        if (!s.destroyed) s.once('drain', pump);
      };
      s.write('* OK ');
      pump();
    });
    await new Promise<void>((r) => flood.listen(0, '127.0.0.1', r));
    const port = (flood.address() as { port: number }).port;
    const d = await startDaemon({ args: ['-a', 'rimap', '-O', `127.0.0.1/${port}`] });
    try {
      for (let i = 0; i < 20; i++) assert.equal(await reply(d.socket, 'alice', 'alice-pw'), TEMP);
      await d.waitForLog(/\[reason=IMAP server 127\.0\.0\.1\/\d+: a line longer than 8192 bytes\]/);
      const rss = Number(/VmRSS:\s+(\d+)/.exec(execFileSync('cat', [`/proc/${d.proc.pid}/status`]).toString())![1]);
      assert.ok(rss < 200 * 1024, `daemon RSS ${rss} kB`);
    } finally {
      await d.stop();
      flood.close();
    }
  });
});

async function waitFor(cond: () => boolean, imap: PrivateDovecotImap, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`not seen in Dovecot's log:\n${imap.log()}`);
    await sleep(50);
  }
}
