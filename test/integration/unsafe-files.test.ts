import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { askSaslauthd } from '../../src/cli/testsaslauthd.js';
import { fd3Input, runCheckpassword, writeProbe } from '../helpers/checkpassword.js';
import { BIN, run, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { EtcTree, tempDir } from '../helpers/fixtures.js';

const NOBODY = 65534;
const PROBE = writeProbe();

/** Runs a command as nobody, the local user the attacks come from. */
function asNobody(cmd: string, args: readonly string[]): { code: number | null; stderr: string } {
  const r = spawnSync(cmd, args, { uid: NOBODY, gid: NOBODY, encoding: 'utf8' });
  return { code: r.status, stderr: r.stderr };
}

/** A root-owned 0600 file an attacker would like overwritten, and a path an attacker would like root to create. */
function victims(dir: string) {
  const vault = tempDir('authmux-vault-');
  chmodSync(vault, 0o711);
  const precious = join(vault, 'precious');
  writeFileSync(precious, 'root only\n', { mode: 0o600 });
  return { precious, created: join(vault, 'created-by-root'), dir };
}

function site() {
  const base = tempDir('authmux-unsafe-');
  chmodSync(base, 0o755);
  const etc = new EtcTree(join(base, 'root'));
  etc.addUser({ name: 'carol', uid: 4242, home: '/tmp' });
  etc.chpasswd('SHA512', [['carol', 'carol-pw']]);
  // Like /tmp: anyone may add names, nobody may replace another's.
  const sticky = join(base, 'spool');
  mkdirSync(sticky);
  chmodSync(sticky, 0o1777);
  return { base, etc, sticky, lines: ['mech: shadow', `passwd_file: ${etc.passwd}`, `shadow_file: ${etc.shadow}`] };
}

function writeConf(dir: string, lines: readonly string[]): string {
  const path = join(dir, `c-${Math.random().toString(36).slice(2)}.conf`);
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

/** The daemon's start-up refusal: exit status and what it said. */
async function startRefused(args: readonly string[], configLines: readonly string[], dir: string) {
  const conf = writeConf(dir, configLines);
  return run(BIN, ['saslauthd', '-d', '-O', conf, ...args]);
}

describe('directories another user can write into are refused at start, naming which and why', () => {
  const s = site();

  test('a run directory owned by another user, or writable by all without the sticky bit', async () => {
    const owned = join(s.base, 'run-nobody');
    mkdirSync(owned, { mode: 0o755 });
    chownSync(owned, NOBODY, NOBODY);
    const r1 = await startRefused(['-m', owned], s.lines, s.base);
    assert.equal(r1.code, 1);
    assert.match(r1.stderr, new RegExp(`run directory.*${owned}.*belongs to uid ${NOBODY}`));
    assert.equal(existsSync(join(owned, 'saslauthd.pid')), false);
    const open = join(s.base, 'run-open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    const r2 = await startRefused(['-m', open], s.lines, s.base);
    assert.equal(r2.code, 1);
    assert.match(r2.stderr, /writable by every user \(mode 0777\)/);
    assert.equal(existsSync(join(open, 'mux')), false);
    // Sticky like /tmp is not enough where sockets and the pid file go: another user could take their names first.
    const sticky = join(s.base, 'run-sticky');
    mkdirSync(sticky);
    chmodSync(sticky, 0o1777);
    const r3 = await startRefused(['-m', sticky], s.lines, s.base);
    assert.equal(r3.code, 1);
    assert.match(r3.stderr, /sticky directory does not stop another user taking the name first/);
    for (const key of ['checkpassword_socket', 'relay_socketmap', 'log_target']) {
      const r = await run(BIN, ['saslauthd', '-f', '-m', join(s.base, 'r-ok'), '-O', writeConf(s.base, [...s.lines, `relay_file: ${s.base}/relayers`, `${key}: ${sticky}/x`])]);
      assert.equal(r.code, 1, key);
      assert.match(r.stderr, /sticky directory does not stop/, key);
    }
  });

  test('a run directory reached through a link is judged where the link leads', async () => {
    const owned = join(s.base, 'nobodys');
    mkdirSync(join(owned, 'rd'), { recursive: true });
    chownSync(owned, NOBODY, NOBODY);
    const link = join(s.base, 'rdlink');
    spawnSync('ln', ['-s', join(owned, 'rd'), link]);
    const r = await startRefused(['-m', link], s.lines, s.base);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`${owned} belongs to uid ${NOBODY}`));
  });

  test('relay files, maps and the log in such a directory: the daemon, checkpassword and the relay command all refuse', async () => {
    const open = join(s.base, 'relay-open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    const run1 = join(s.base, 'r1');
    for (const key of ['relay_file', 'relay_text_map', 'relay_cdb', 'log_target']) {
      const lines = [...s.lines, `${key}: ${open}/out`];
      const r = await run(BIN, ['saslauthd', '-f', '-m', run1, '-O', writeConf(s.base, lines)]);
      assert.equal(r.code, 1, `${key}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`${key}: refusing ${open}`), key);
    }
    const conf = writeConf(s.base, [...s.lines, `relay_file: ${open}/relayers`]);
    const cp = await runCheckpassword(fd3Input('carol', 'carol-pw'), [PROBE], { AUTHMUX_CONFIG: conf, SERVICE: 'pop3', TCPREMOTEIP: '198.51.100.4' });
    assert.equal(cp.code, 111, cp.stderr);
    assert.match(cp.stderr, /relay_file: refusing/);
    assert.equal(cp.stdout, '', 'nothing ran');
    const cli = await run(BIN, ['relay', '-O', conf, 'add', '198.51.100.5']);
    assert.equal(cli.code, 111);
    assert.equal(existsSync(join(open, 'relayers')), false);
  });
});

describe('links and files planted in a sticky directory are never followed or trusted', () => {
  const s = site();
  const v = victims(s.sticky);
  const relayFile = join(s.sticky, 'relayers');
  const textMap = join(s.sticky, 'relay.map');
  const cdb = join(s.sticky, 'tcp.smtp.cdb');
  const runDir = join(s.base, 'run');
  let d: RunningDaemon;

  before(async () => {
    // Before the daemon starts: links at every map it will write, in the sticky spool.
    for (const link of [textMap, cdb]) assert.equal(asNobody('ln', ['-s', v.precious, link]).code, 0);
    // A pid-file link root left in its own run directory (another user cannot plant one there: see above).
    mkdirSync(runDir, { mode: 0o755 });
    spawnSync('ln', ['-s', v.precious, join(runDir, 'saslauthd.pid')]);
    d = await startDaemon({
      args: ['-m', runDir],
      config: [...s.lines, `relay_file: ${relayFile}`, `relay_text_map: ${textMap}`, `relay_cdb: ${cdb}`, 'relay_ttl: 3600'].join('\n'),
    });
  });
  after(async () => {
    await d?.stop();
  });

  const precious = () => readFileSync(v.precious, 'utf8');

  test('the pid file and the maps replace the links, never write through them', async () => {
    assert.equal(readFileSync(join(runDir, 'saslauthd.pid'), 'utf8').trim(), String(d.proc.pid));
    assert.equal(lstatSync(join(runDir, 'saslauthd.pid')).isSymbolicLink(), false);
    assert.equal(await askSaslauthd(d.socket, ['carol', 'carol-pw', 'pop3', '', '198.51.100.7;110']), 'OK');
    await d.waitForLog(/198\.51\.100\.7 may relay/);
    // The maps are written after the grant, in the background.
    for (let i = 0; i < 100 && !/198\.51\.100\.7/.test(lstatSync(textMap).isFile() ? readFileSync(textMap, 'latin1') : ''); i++) await sleep(50);
    assert.equal(lstatSync(textMap).isSymbolicLink(), false);
    assert.match(readFileSync(textMap, 'latin1'), /^198\.51\.100\.7 \d+$/m);
    assert.equal(lstatSync(cdb).isSymbolicLink(), false);
    assert.equal(precious(), 'root only\n');
  });

  test('temporary names cannot be guessed: links sprayed over the old names catch nothing', async () => {
    const lastPid = Number(readFileSync('/proc/sys/kernel/ns_last_pid', 'utf8'));
    const names = [d.proc.pid, ...Array.from({ length: 300 }, (_, i) => lastPid + 1 + i)].map((pid) => `${relayFile}.tmp.${pid}`);
    for (const n of names) assert.equal(asNobody('ln', ['-s', v.precious, n]).code, 0);
    assert.equal(await askSaslauthd(d.socket, ['carol', 'carol-pw', 'pop3', '', '198.51.100.8;110']), 'OK');
    await d.waitForLog(/198\.51\.100\.8 may relay/);
    // The checkpassword program (root, direct mode) writes the same file.
    const conf = writeConf(s.base, [...s.lines, `relay_file: ${relayFile}`]);
    const cp = await runCheckpassword(fd3Input('carol', 'carol-pw'), [PROBE], { AUTHMUX_CONFIG: conf, TCPREMOTEIP: '198.51.100.9', TCPLOCALPORT: '110' });
    assert.equal(cp.code, 7, cp.stderr);
    assert.match(readFileSync(relayFile, 'latin1'), /^198\.51\.100\.9 /m);
    assert.equal(precious(), 'root only\n');
  });

  test('the lock: 0600 so no other user can open and hold it; a planted link or foreign file is refused, not followed', async () => {
    const lock = `${relayFile}.lock`;
    assert.equal(statSync(lock).mode & 0o777, 0o600);
    assert.notEqual(asNobody('cat', [lock]).code, 0, 'nobody cannot open the lock');
    assert.notEqual(asNobody('flock', ['-n', lock, 'true']).code, 0);
    // Swap the lock for a dangling link (as nobody could before the file existed) and for nobody's own file.
    spawnSync('rm', ['-f', lock]);
    assert.equal(asNobody('ln', ['-s', v.created, lock]).code, 0);
    assert.equal(await askSaslauthd(d.socket, ['carol', 'carol-pw', 'pop3', '', '198.51.100.10;110']), 'OK', 'the login stands; only its grant is lost');
    await d.waitForLog(/grant for 198\.51\.100\.10 .*not recorded/);
    assert.equal(existsSync(v.created), false, 'root created nothing through the link');
    spawnSync('rm', ['-f', lock]);
    assert.equal(asNobody('touch', [lock]).code, 0);
    assert.equal(await askSaslauthd(d.socket, ['carol', 'carol-pw', 'pop3', '', '198.51.100.11;110']), 'OK');
    await d.waitForLog(/grant for 198\.51\.100\.11 .*belongs to uid 65534/);
    assert.doesNotMatch(readFileSync(relayFile, 'latin1'), /198\.51\.100\.1[01]/);
    assert.equal(precious(), 'root only\n');
  });
});

describe('a relay writer that holds the lock cannot keep an expired grant published', () => {
  const s = site();
  const dir = join(s.base, 'relay');
  mkdirSync(dir, { mode: 0o755 });
  const relayFile = join(dir, 'relayers');
  const textMap = join(dir, 'relay.map');
  let d: RunningDaemon;

  before(async () => {
    d = await startDaemon({ config: [...s.lines, `relay_file: ${relayFile}`, `relay_text_map: ${textMap}`, 'relay_ttl: 2', 'relay_expire_interval: 1'].join('\n') });
  });
  after(async () => {
    await d?.stop();
  });

  test('expiry that cannot take the lock is logged and retried; the map drops the grant within one interval of its TTL', async () => {
    assert.equal(await askSaslauthd(d.socket, ['carol', 'carol-pw', 'pop3', '', '198.51.100.20;110']), 'OK');
    const granted = Date.now();
    for (let i = 0; i < 100 && !/198\.51\.100\.20/.test(existsSync(textMap) ? readFileSync(textMap, 'latin1') : ''); i++) await sleep(20);
    assert.match(readFileSync(textMap, 'latin1'), /198\.51\.100\.20/);
    // A stuck writer: holds the store's lock far beyond the grant's TTL.
    const holder = spawn('flock', [`${relayFile}.lock`, 'sleep', '12'], { stdio: 'ignore' });
    try {
      while (/198\.51\.100\.20/.test(readFileSync(textMap, 'latin1'))) {
        assert.ok(Date.now() - granted < (2 + 1 + 1.5) * 1000, 'the grant outlived TTL + one interval in the published map');
        await sleep(50);
      }
      await d.waitForLog(/relay: expiry failed, retried in 1 s: .*held for over/, 15_000);
    } finally {
      holder.kill();
    }
  });
});

describe('addresses that are no single host never get a grant', () => {
  const s = site();
  const relayFile = join(s.base, 'relayers');
  let d: RunningDaemon;
  before(async () => {
    d = await startDaemon({ config: [...s.lines, `relay_file: ${relayFile}`, 'relay_ignore: 127.0.0.0/8'].join('\n') });
  });
  after(async () => {
    await d?.stop();
  });

  test('unspecified, broadcast and multicast client addresses: the login is OK, no grant; relay add refuses them', async () => {
    for (const ip of ['0.0.0.0', '::', '255.255.255.255', '224.0.0.1', '239.255.255.250', 'ff02::1', '0.1.2.3']) {
      assert.equal(await askSaslauthd(d.socket, ['carol', 'carol-pw', 'pop3', '', `${ip};110`]), 'OK', ip);
      const add = await run(BIN, ['relay', '-O', d.configFile, 'add', ip]);
      assert.equal(add.code, 2, `${ip}: ${add.stderr}`);
      assert.match(add.stderr, /not a host address/);
    }
    assert.equal(await askSaslauthd(d.socket, ['carol', 'carol-pw', 'pop3', '', '198.51.100.30;110']), 'OK');
    await d.waitForLog(/198\.51\.100\.30 may relay/);
    const held = readFileSync(relayFile, 'latin1');
    assert.deepEqual(held.split('\n').filter(Boolean).map((l) => l.split(' ')[0]), ['198.51.100.30']);
  });
});

describe('the socketmap socket is claimed like the mux socket', () => {
  const s = site();

  test('a regular file at its path is left alone and the daemon refuses to start; so does a live socket', async () => {
    const path = join(s.base, 'relay.socketmap');
    writeFileSync(path, 'not a socket\n');
    const r = await run(BIN, ['saslauthd', '-d', '-m', join(s.base, 'run1'), '-O', writeConf(s.base, [...s.lines, `relay_socketmap: ${path}`, `relay_file: ${s.base}/relayers`])]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /exists and is not a socket/);
    assert.equal(readFileSync(path, 'utf8'), 'not a socket\n');
    const live = join(s.base, 'live.socketmap');
    const other = createServer().listen(live);
    await new Promise((res) => other.once('listening', res));
    try {
      const r2 = await run(BIN, ['saslauthd', '-d', '-m', join(s.base, 'run2'), '-O', writeConf(s.base, [...s.lines, `relay_socketmap: ${live}`, `relay_file: ${s.base}/relayers`])]);
      assert.equal(r2.code, 1);
      assert.match(r2.stderr, /another daemon is serving/);
    } finally {
      other.close();
    }
  });
});
