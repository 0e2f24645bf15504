import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { REPO, testsaslauthd } from '../helpers/daemon.js';
import { EtcTree, tempDir } from '../helpers/fixtures.js';

const UNITS = join(REPO, 'contrib/systemd');
const NAMES = ['authmux.service', 'authmux.socket', 'authmux-saslauthd.service'];

/** The shipped units with this checkout where they say /opt/authmux, as an install there would have them. */
function installed(dir: string): string[] {
  return NAMES.map((n) => {
    const path = join(dir, n);
    writeFileSync(path, readFileSync(join(UNITS, n), 'utf8').replaceAll('/opt/authmux', REPO));
    return path;
  });
}

test('systemd-analyze verify accepts the shipped unit files', () => {
  const r = spawnSync('systemd-analyze', ['verify', ...installed(tempDir('authmux-units-'))], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr.trim(), '');
});

test('authmux-saslauthd.service\'s command serves with Debian\'s /etc/default/saslauthd variables as they are', async () => {
  const dir = tempDir('authmux-units-');
  const unit = readFileSync(installed(dir)[2]!, 'utf8');
  const command = /^ExecStart=\/bin\/sh -c '(.*)'$/m.exec(unit)![1]!;
  const etc = new EtcTree(join(dir, 'root'));
  etc.addUser({ name: 'alice', uid: 5401 });
  etc.chpasswd('SHA512', [['alice', 'alice-pass']]);
  const conf = join(dir, 'saslauthd.conf');
  writeFileSync(conf, `passwd_file: ${etc.passwd}\nshadow_file: ${etc.shadow}\n`);
  const run = join(dir, 'run');
  // What EnvironmentFile= reads from Debian's file: MECHANISMS, MECH_OPTIONS (behind -O), OPTIONS, THREADS.
  const env = { PATH: process.env['PATH'], MECHANISMS: 'shadow', MECH_OPTIONS: conf, OPTIONS: `-c -m ${run}`, THREADS: '5' };
  const proc = spawn('/bin/sh', ['-c', command], { env, stdio: 'ignore' });
  try {
    for (let i = 0; i < 100 && !existsSync(join(run, 'mux')); i++) await sleep(50);
    assert.equal((await testsaslauthd(join(run, 'mux'), 'alice', 'alice-pass')).stdout, '0: OK "Success."\n');
    assert.match(readFileSync(`/proc/${proc.pid}/cmdline`, 'latin1').replaceAll('\0', ' '), /saslauthd -f -a shadow -O \S+ -c -m \S+ -n 5 $/, 'sh gave its place to the daemon (exec), as Type=notify needs');
  } finally {
    proc.kill('SIGTERM');
  }
});
