import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeRequest } from '../../src/protocol/saslauthd.js';
import { fd3Input, probeFacts, runCheckpassword, writeProbe } from '../helpers/checkpassword.js';
import { startDaemon, testsaslauthd, type RunningDaemon } from '../helpers/daemon.js';
import { b64, DovecotRawClient } from '../helpers/dovecot-client.js';
import { tempDir } from '../helpers/fixtures.js';
import { rawExchange, replyString } from '../helpers/raw-client.js';
import { startRealSaslauthd } from '../helpers/real-saslauthd.js';
import { saslpasswd2 } from '../helpers/sasldb.js';
import { PamServices, SystemAccounts } from '../helpers/system-accounts.js';

const CLIENT = '198.51.100.7;50123';
const PROBE = writeProbe();
/** PAM is the subject here; the per-address penalty (its own tests) would hold back the many failures from one address. */
const NO_PENALTY = 'penalty: no\n';

async function reply(socket: string, user: string, password: string, service: string, client = CLIENT): Promise<string> {
  const r = await rawExchange(socket, encodeRequest([user, password, service, '', client]), { timeoutMs: 20_000 });
  return r.kind === 'reply' ? replyString(r.bytes) : r.kind;
}

describe('-a pam through the real libpam and real modules', () => {
  const accounts = new SystemAccounts();
  const pam = new PamServices();
  const dir = tempDir('authmux-pam-');
  chmodSync(dir, 0o755);
  const seen = join(dir, 'pam-exec-seen');
  let unix: string, userdb: string, exec: string, deny: string, missing: string, crash: string, hang: string, slow: string, permit: string;
  let yes: string, sha: string, expired: string, locked: string;
  let d: RunningDaemon;

  before(async () => {
    yes = await accounts.add('yes', 'yes-pässwörd', 'YESCRYPT');
    sha = await accounts.add('sha', 'sha-pass', 'SHA512');
    expired = await accounts.add('old', 'old-pass');
    await accounts.expire('old');
    locked = await accounts.add('lck', 'lck-pass');
    await accounts.lock('lck');

    unix = pam.service('unix', 'auth required pam_unix.so\naccount required pam_unix.so\n');
    // pam_userdb: a Berkeley DB of user -> password, made by the real db5.3_load.
    execFileSync('db5.3_load', ['-T', '-t', 'hash', join(dir, 'users.db')], { input: 'dbuser\ndb-pass\n' });
    userdb = pam.service('userdb', `auth required pam_userdb.so db=${join(dir, 'users')}\naccount required pam_permit.so\n`);
    // pam_exec: the program sees PAM's items in its environment and the password on stdin (NUL-terminated).
    const recorder = join(dir, 'record.sh');
    writeFileSync(recorder, `#!/bin/sh\npw=$(tr -d '\\000')\necho "rhost=$PAM_RHOST service=$PAM_SERVICE user=$PAM_USER type=$PAM_TYPE pw=$pw" >> ${seen}\n`, { mode: 0o755 });
    // pam_exec answers PAM_SYSTEM_ERR for a program that fails, so pam_unix decides here.
    exec = pam.service('exec', `auth required pam_exec.so expose_authtok quiet ${recorder}\nauth required pam_unix.so\naccount required pam_permit.so\n`);
    deny = pam.service('deny', 'auth required pam_deny.so\naccount required pam_permit.so\n');
    missing = pam.service('missing', 'auth required pam_authmux_no_such_module.so\naccount required pam_permit.so\n');
    // A module that takes the worker down mid-transaction, as a crashing module would.
    const crasher = join(dir, 'crash.sh');
    writeFileSync(crasher, '#!/bin/sh\nkill -SEGV $PPID\nsleep 5\n', { mode: 0o755 });
    crash = pam.service('crash', `auth required pam_exec.so quiet ${crasher}\naccount required pam_permit.so\n`);
    hang = pam.service('hang', 'auth required pam_exec.so quiet /bin/sleep 120\naccount required pam_permit.so\n');
    slow = pam.service('slow', 'auth optional pam_faildelay.so delay=3000000\nauth required pam_unix.so nodelay\naccount required pam_unix.so\n');
    permit = pam.service('permit', 'auth required pam_permit.so\naccount required pam_permit.so\n');

    d = await startDaemon({ args: ['-a', 'pam', '-n', '2'], config: `pam_timeout: 2\n${NO_PENALTY}` });
  });
  after(async () => {
    await d?.stop();
    pam.remove();
    await accounts.remove();
  });

  test('replies are the real saslauthd -a pam\'s, byte for byte, for the same stack and users', async () => {
    const real = await startRealSaslauthd('pam');
    try {
      const cases: Array<[string, string]> = [
        [yes, 'yes-pässwörd'],
        [sha, 'sha-pass'],
        [yes, 'wrong'],
        [accounts.name('nobody'), 'x'],
        [expired, 'old-pass'],
        [expired, 'wrong'],
        [locked, 'lck-pass'],
      ];
      const ours: string[] = [];
      const theirs: string[] = [];
      for (const [u, p] of cases) {
        ours.push(await reply(d.socket, u, p, unix));
        theirs.push(await reply(real.socket, u, p, unix));
      }
      assert.deepEqual(ours, theirs);
      assert.deepEqual(ours, ['OK', 'OK', 'NO PAM auth error', 'NO PAM auth error', 'NO PAM acct error', 'NO PAM auth error', 'NO PAM auth error']);
      // pam_deny refuses as saslauthd says it; a module missing from the stack is no refusal here: try again.
      assert.equal(await reply(real.socket, yes, 'yes-pässwörd', deny), 'NO PAM auth error');
      assert.equal(await reply(d.socket, yes, 'yes-pässwörd', deny), 'NO PAM auth error');
      assert.equal(await reply(d.socket, yes, 'yes-pässwörd', missing), 'NO Temporary failure, try again later');
      await d.waitForLog(/auth temporary failure: \[user=\S+\] \[service=\S+-missing\].*Module is unknown/);
    } finally {
      await real.stop();
    }
  });

  test('Cyrus\'s testsaslauthd: $y$ and $6$ accounts made by chpasswd', async () => {
    assert.equal((await testsaslauthd(d.socket, yes, 'yes-pässwörd', ['-s', unix])).stdout, '0: OK "Success."\n');
    assert.equal((await testsaslauthd(d.socket, sha, 'sha-pass', ['-s', unix])).code, 0);
    assert.equal((await testsaslauthd(d.socket, sha, 'sha-pasS', ['-s', unix])).code, 255);
  });

  test('pam_userdb against a Berkeley DB file', async () => {
    assert.equal(await reply(d.socket, 'dbuser', 'db-pass', userdb), 'OK');
    assert.equal(await reply(d.socket, 'dbuser', 'db-pasS', userdb), 'NO PAM auth error');
  });

  test('pam_exec sees PAM_RHOST (the fifth field), PAM_SERVICE, PAM_USER, and the password', async () => {
    assert.equal(await reply(d.socket, sha, 'sha-pass', exec, '2001:db8::7;993'), 'OK');
    assert.equal(await reply(d.socket, sha, 'nope', exec), 'NO PAM auth error');
    const lines = readFileSync(seen, 'utf8').trim().split('\n');
    assert.equal(lines[0], `rhost=2001:db8::7 service=${exec} user=${sha} type=auth pw=sha-pass`);
    assert.equal(lines[1], `rhost=198.51.100.7 service=${exec} user=${sha} type=auth pw=nope`);
  });

  test('a service name that is no plain file name never reaches PAM (Linux-PAM would take its last part)', async () => {
    // Without the check, PAM would read ../pam.d/<permit> as <permit>: pam_permit, any password.
    assert.equal(await reply(d.socket, yes, 'anything', `../pam.d/${permit}`), 'NO PAM acct error');
    assert.equal(await reply(d.socket, yes, 'anything', `/etc/pam.d/${permit}`), 'NO PAM acct error');
    assert.equal(await reply(d.socket, yes, 'anything', permit), 'OK', 'the stack itself does accept anything');
  });

  test('a module that crashes its worker: a temporary failure, and the next request is served', async () => {
    assert.equal(await reply(d.socket, yes, 'yes-pässwörd', crash), 'NO Temporary failure, try again later');
    await d.waitForLog(/PAM worker lost: killed by SIGSEGV/);
    assert.equal(await reply(d.socket, yes, 'yes-pässwörd', unix), 'OK');
  });

  test('a module that hangs past pam_timeout: a temporary failure, and others are answered meanwhile', async () => {
    const hung = reply(d.socket, yes, 'yes-pässwörd', hang);
    let hungDone = false;
    void hung.then(() => (hungDone = true));
    assert.equal(await reply(d.socket, sha, 'sha-pass', unix), 'OK');
    assert.equal(hungDone, false, 'the right password was answered while the hung one still waited');
    assert.equal(await hung, 'NO Temporary failure, try again later');
    await d.waitForLog(/PAM worker lost: a transaction timed out/);
    await d.waitForLog(/\[service=\S+-hang\] \[realm=\] \[mech=pam\] \[reason=PAM gave no answer within 2 s\]/);
    // The module's own program went with its worker.
    assert.equal(spawnSync('pgrep', ['-f', '^/bin/sleep 120$']).status, 1);
  });

  test('a slow failure (pam_faildelay, 3 s) holds no worker: 20 right passwords sent with it are all answered first', async () => {
    const order: string[] = [];
    const wrong = reply(d.socket, sha, 'wrong', slow).then((r) => {
      order.push('wrong');
      return r;
    });
    await sleep(50);
    const rights = Array.from({ length: 20 }, () =>
      reply(d.socket, sha, 'sha-pass', slow).then((r) => {
        order.push('right');
        return r;
      }),
    );
    assert.deepEqual(await Promise.all(rights), Array(20).fill('OK'));
    assert.equal(await wrong, 'NO PAM auth error');
    assert.deepEqual(order, [...Array(20).fill('right'), 'wrong'], 'two workers, and the refusal waited outside them');
  });

  test('the checkpassword program with -a pam: system accounts, run as their own uid', async () => {
    const home = join(dir, 'cp-home');
    mkdirSync(home);
    const user = await accounts.add('cp', 'cp-pass', 'SHA512', home);
    const uid = Number(execFileSync('id', ['-u', user]).toString().trim());
    chownSync(home, uid, uid);
    const config = join(dir, 'cp.conf');
    writeFileSync(config, 'mech: pam\n');
    const env = { AUTHMUX_CONFIG: config, SERVICE: unix, TCPREMOTEIP: '192.0.2.44' };
    const ok = await runCheckpassword(fd3Input(user, 'cp-pass'), [PROBE], env);
    assert.equal(ok.code, 7, ok.stderr);
    assert.equal(probeFacts(ok.stdout).get('uid'), `${uid} gid ${uid} groups ${uid}`);
    assert.equal((await runCheckpassword(fd3Input(user, 'cp-pasS'), [PROBE], env)).code, 1);
    // pam_userdb's users have no system account: never run as anyone.
    assert.equal((await runCheckpassword(fd3Input('dbuser', 'db-pass'), [PROBE], { ...env, SERVICE: userdb })).code, 1);
  });
});

describe('-a pam with the cache on (-c)', () => {
  const accounts = new SystemAccounts();
  const pam = new PamServices();
  const dir = tempDir('authmux-pam-cache-');
  chmodSync(dir, 0o755);
  const seen = join(dir, 'seen');
  let unix: string, exec: string, user: string;
  let d: RunningDaemon;

  before(async () => {
    user = await accounts.add('c', 'first-pass', 'SHA512');
    unix = pam.service('unix', 'auth required pam_unix.so\naccount required pam_unix.so\n');
    const recorder = join(dir, 'record.sh');
    writeFileSync(recorder, `#!/bin/sh\necho asked >> ${seen}\n[ "$(tr -d '\\000')" = exec-pass ]\n`, { mode: 0o755 });
    exec = pam.service('exec', `auth required pam_exec.so expose_authtok quiet ${recorder}\naccount required pam_permit.so\n`);
    d = await startDaemon({ args: ['-a', 'pam', '-c', '-V'], config: `pam_cache_ttl: 1\n${NO_PENALTY}` });
  });
  after(async () => {
    await d?.stop();
    pam.remove();
    await accounts.remove();
  });

  test('a cached success does not outlive a password changed with chpasswd', async () => {
    assert.equal(await reply(d.socket, user, 'first-pass', unix), 'OK');
    assert.equal(await reply(d.socket, user, 'first-pass', unix), 'OK');
    await d.waitForLog(new RegExp(`auth success: \\[user=${user}\\] \\[service=${unix}\\] \\[realm=\\] \\[mech=pam\\] \\[reason=cached\\]`));
    await accounts.setPassword('c', 'second-pass', 'SHA512');
    assert.equal(await reply(d.socket, user, 'first-pass', unix), 'NO PAM auth error');
    assert.equal(await reply(d.socket, user, 'second-pass', unix), 'OK');
  });

  test('under a stack with no change signal (pam_exec), a cached success answers only for pam_cache_ttl', async () => {
    const asked = () => (existsSync(seen) ? readFileSync(seen, 'utf8').split('\n').length - 1 : 0);
    assert.equal(await reply(d.socket, 'x', 'exec-pass', exec), 'OK');
    assert.equal(await reply(d.socket, 'x', 'exec-pass', exec), 'OK');
    assert.equal(asked(), 1, 'the second login came from the cache');
    await sleep(1200);
    assert.equal(await reply(d.socket, 'x', 'exec-pass', exec), 'OK');
    assert.equal(asked(), 2, 'past pam_cache_ttl the stack is asked again');
  });
});

describe('-a pam behind the Dovecot socket', () => {
  const accounts = new SystemAccounts();
  const pam = new PamServices();
  const dir = tempDir('authmux-pam-dovecot-');
  let unix: string, user: string;
  let d: RunningDaemon;

  before(async () => {
    user = await accounts.add('dv', 'dv-pass');
    unix = pam.service('smtp', 'auth required pam_unix.so\naccount required pam_unix.so\n');
    d = await startDaemon({ args: ['-a', 'pam'], config: `dovecot_socket: ${join(dir, 'auth')}\n${NO_PENALTY}` });
  });
  after(async () => {
    await d?.stop();
    pam.remove();
    await accounts.remove();
  });

  test('AUTH PLAIN with service= naming the PAM service', async () => {
    const c = await DovecotRawClient.open(join(dir, 'auth'));
    try {
      await c.handshake();
      c.send('VERSION\t1\t2\nCPID\t77\n');
      c.send(`AUTH\t1\tPLAIN\tservice=${unix}\tnologin\trip=192.0.2.9\tresp=${b64(`\0${user}\0dv-pass`)}\n`);
      assert.match(await c.line(), new RegExp(`^OK\t1\tuser=${user}`));
      c.send(`AUTH\t2\tPLAIN\tservice=${unix}\tnologin\trip=192.0.2.9\tresp=${b64(`\0${user}\0dv-pasS`)}\n`);
      assert.match(await c.line(5000), /^FAIL\t2/);
    } finally {
      c.close();
    }
  });
});

describe('-a pam,sasldb: PAM\'s "user unknown" moves on, its refusals do not', () => {
  const accounts = new SystemAccounts();
  const pam = new PamServices();
  const dir = tempDir('authmux-pam-chain-');
  let unix: string, sys: string;
  let d: RunningDaemon;

  before(async () => {
    sys = await accounts.add('ch', 'system-pass');
    unix = pam.service('smtp', 'auth required pam_unix.so\naccount required pam_unix.so\n');
    const sasldb = join(dir, 'sasldb2');
    saslpasswd2(sasldb, [
      { user: 'virtual', realm: 'example.com', password: Buffer.from('virtual-pass') },
      { user: sys, realm: 'example.com', password: Buffer.from('sasldb-pass') },
    ]);
    d = await startDaemon({ args: ['-a', 'pam,sasldb'], config: `sasldb_path: ${sasldb}\nsasldb_default_realm: example.com\n${NO_PENALTY}` });
  });
  after(async () => {
    await d?.stop();
    pam.remove();
    await accounts.remove();
  });

  test('a system account is PAM\'s; a login PAM does not know is sasldb\'s, with sasldb\'s reply', async () => {
    assert.equal(await reply(d.socket, sys, 'system-pass', unix), 'OK');
    assert.equal(await reply(d.socket, 'virtual', 'virtual-pass', unix), 'OK');
    assert.equal(await reply(d.socket, 'virtual', 'wrong', unix), 'NO', 'sasldb decided: its bare NO');
    await d.waitForLog(/auth failure: \[user=virtual\] \[service=\S+\] \[realm=\] \[mech=sasldb\]/);
  });

  test('a wrong password for a system account is final, even when sasldb holds that login with that password', async () => {
    assert.equal(await reply(d.socket, sys, 'sasldb-pass', unix), 'NO PAM auth error');
    await d.waitForLog(new RegExp(`auth failure: \\[user=${sys}\\] \\[service=\\S+\\] \\[realm=\\] \\[mech=pam\\] \\[reason=pam_authenticate: Authentication failure`));
  });

  test('a PAM stack that cannot decide fails the request for now: sasldb is not asked', async () => {
    const broken = pam.service('broken', 'auth required pam_authmux_no_such_module.so\naccount required pam_permit.so\n');
    assert.equal(await reply(d.socket, 'virtual', 'virtual-pass', broken), 'NO Temporary failure, try again later');
  });
});

/** A saslauthd client run as nobody (uid 65534): a local user with no trust. */
const NOBODY_CLIENT = `
const net = require('node:net');
const [path, ...fields] = process.argv.slice(2);
const counted = (xs) => Buffer.concat(xs.flatMap((x) => { const b = Buffer.from(x, 'latin1'); const l = Buffer.alloc(2); l.writeUInt16BE(b.length); return [l, b]; }));
const s = net.connect(path, () => s.write(counted(fields)));
let buf = Buffer.alloc(0);
s.on('data', (c) => { buf = Buffer.concat([buf, c]); if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) { process.stdout.write(buf.toString('latin1', 2, 2 + buf.readUInt16BE(0))); s.destroy(); } });
s.on('error', (e) => process.stdout.write('error ' + e.code));
`;

describe('-a pam against a local attacker and a client address it should judge', () => {
  const accounts = new SystemAccounts();
  const pam = new PamServices();
  const base = tempDir('authmux-pam-attack-');
  chmodSync(base, 0o755);
  const client = join(base, 'client.cjs');
  writeFileSync(client, NOBODY_CLIENT, { mode: 0o644 });
  let byAddress: string, rootok: string, hang: string, unix: string, user: string;
  let d: RunningDaemon;

  const asNobody = (fields: readonly string[]) =>
    new Promise<string>((resolve) => {
      const p = spawn(process.execPath, [client, d.socket, ...fields], { uid: 65534, gid: 65534, stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      p.stdout!.on('data', (c: Buffer) => (out += c.toString('latin1')));
      p.on('close', () => resolve(out));
    });

  before(async () => {
    user = await accounts.add('at', 'at-pass', 'SHA512');
    unix = pam.service('unix', 'auth required pam_unix.so\naccount required pam_unix.so\n');
    byAddress = pam.service('addr', 'auth required pam_unix.so\naccount required pam_succeed_if.so rhost notin 203.0.113.66\naccount required pam_unix.so\n');
    rootok = pam.service('rootok', 'auth sufficient pam_rootok.so\nauth required pam_unix.so\naccount required pam_unix.so\n');
    hang = pam.service('hang', 'auth required pam_exec.so quiet /bin/sleep 120\naccount required pam_permit.so\n');
    d = await startDaemon({ args: ['-a', 'pam', '-c', '-n', '2', '-m', join(base, 'run')], config: `pam_timeout: 3\n${NO_PENALTY}` });
  });
  after(async () => {
    await d?.stop();
    pam.remove();
    await accounts.remove();
  });

  test('a cached success from one address does not answer for another the stack refuses', async () => {
    assert.equal(await reply(d.socket, user, 'at-pass', byAddress, '203.0.113.1;25'), 'OK');
    assert.equal(await reply(d.socket, user, 'at-pass', byAddress, '203.0.113.1;25'), 'OK');
    assert.equal(await reply(d.socket, user, 'at-pass', byAddress, '203.0.113.66;25'), 'NO PAM acct error');
  });

  test('a service whose stack lets root in (pam_rootok, as su\'s) is refused: PAM runs as root here', async () => {
    assert.equal(await reply(d.socket, user, 'not-the-password', rootok), 'NO PAM acct error');
    assert.equal(await reply(d.socket, user, 'at-pass', rootok), 'NO PAM acct error');
    assert.equal(await asNobody([user, 'not-the-password', rootok, '']), 'NO');
    await d.waitForLog(/\[mech=pam\] \[reason=the PAM stack of this service lets root in without a password \(pam_rootok\)\]/);
  });

  test('a local user holding every worker it may with a hanging stack leaves one for the MTA (root)', async () => {
    const flood = Array.from({ length: 3 }, () => asNobody([user, 'x', hang, '']));
    await sleep(300);
    const started = Date.now();
    assert.equal(await reply(d.socket, user, 'at-pass', unix), 'OK');
    const waited = Date.now() - started;
    const answers = await Promise.all(flood);
    assert.ok(waited < 2500, `root waited ${waited} ms; the hanging transactions last 3 s`);
    assert.deepEqual(answers, Array(3).fill('NO Temporary failure, try again later'), 'one at a time, each past pam_timeout');
  });
});
