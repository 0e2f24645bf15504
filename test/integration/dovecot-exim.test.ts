import assert from 'node:assert/strict';
import { chmodSync, renameSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { run, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { PrivateExim } from '../helpers/exim.js';
import { EtcTree, tempDir } from '../helpers/fixtures.js';
import { until } from '../helpers/relay-site.js';

/** swaks through Exim's SMTP AUTH; the reply line to the last AUTH step. */
function swaksAuth(port: number, mech: string, user: string, password: string): Promise<string> {
  return run('swaks', ['--server', `127.0.0.1:${port}`, '--auth', mech, '--auth-user', user, '--auth-password', password, '--quit-after', 'AUTH', '--timeout', '10']).then((r) => {
    const m = /^<[-~*]+\s+((?:235|535|435|454) [^\n]*)/m.exec(r.stdout + r.stderr);
    return m ? m[1]! : `no AUTH reply:\n${r.stdout}${r.stderr}`;
  });
}

describe('Exim with driver = dovecot (unpacked exim4-daemon-heavy)', () => {
  test('swaks AUTH PLAIN and LOGIN: 235 for the right password, 535 for a wrong one or an unknown user; a source that cannot be read never lets anyone in', async () => {
    const base = tempDir('authmux-dovecot-exim-');
    chmodSync(base, 0o755);
    const etc = new EtcTree(join(base, 'root'));
    etc.addUser({ name: 'carol', uid: 4242, home: '/tmp' });
    etc.addUser({ name: 'dave', uid: 4243, home: '/tmp' });
    etc.chpasswd('SHA512', [['carol', 'carol-pw'], ['dave', 'dave-pw']]);
    const runDir = join(base, 'run');
    const socket = join(runDir, 'auth');
    let d: RunningDaemon | undefined;
    let exim: PrivateExim | undefined;
    try {
      // Exim's SMTP sessions run as Debian-exim: the socket is given to its group.
      d = await startDaemon({
        args: ['-m', runDir, '-a', 'shadow'],
        config: [`passwd_file: ${etc.passwd}`, `shadow_file: ${etc.shadow}`, `dovecot_socket: ${socket}`, 'dovecot_socket_group: Debian-exim'].join('\n'),
      });
      chmodSync(runDir, 0o755);
      exim = PrivateExim.start(socket);
      const e = exim;
      await until('Exim to listen', async () => !(await swaksAuth(e.port, 'PLAIN', 'carol', 'carol-pw')).startsWith('no AUTH reply'));
      assert.match(await swaksAuth(e.port, 'PLAIN', 'carol', 'carol-pw'), /^235 /, e.log());
      assert.match(await swaksAuth(e.port, 'PLAIN', 'carol', 'wrong'), /^535 /, e.log());
      assert.match(await swaksAuth(e.port, 'LOGIN', 'dave', 'dave-pw'), /^235 /, e.log());
      assert.match(await swaksAuth(e.port, 'LOGIN', 'dave', 'wrong'), /^535 /, e.log());
      const unknown = await swaksAuth(e.port, 'LOGIN', 'nosuchuser', 'x');
      assert.equal(unknown, await swaksAuth(e.port, 'LOGIN', 'carol', 'x'));
      assert.match(unknown, /^535 /);
      await d.waitForLog(/auth failure: \[user=nosuchuser\] \[service=smtp\] .*\[mech=shadow\/dovecot\]/);
      // A source that cannot be read is FAIL ... temp; Exim's driver reads every FAIL as a refusal (535), never as an OK.
      const moved = `${etc.shadow}.away`;
      renameSync(etc.shadow, moved);
      try {
        assert.match(await swaksAuth(e.port, 'PLAIN', 'carol', 'carol-pw'), /^535 /, e.log());
      } finally {
        renameSync(moved, etc.shadow);
      }
      await sleep(100);
      assert.match(await swaksAuth(e.port, 'PLAIN', 'carol', 'carol-pw'), /^235 /, e.log());
      await d.waitForLog(/auth temporary failure: \[user=carol\] \[service=smtp\] .*\[mech=shadow\/dovecot\] \[reason=cannot stat [^\]]*\] \[client=127\.0\.0\.1\]/);
      // Exim's sessions run as Debian-exim, one of trusted_users: its rip= is believed.
      assert.match(d.logs(), /auth success: \[user=dave\] \[service=smtp\] .*\[client=127\.0\.0\.1\]/);
    } finally {
      exim?.stop();
      await d?.stop();
    }
  });
});
