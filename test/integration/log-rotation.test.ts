import assert from 'node:assert/strict';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { startDaemon, testsaslauthd } from '../helpers/daemon.js';
import { EtcTree, tempDir } from '../helpers/fixtures.js';

test('SIGUSR1 reopens log_target, as logrotate\'s postrotate asks: lines after it go to the new file', async () => {
  const dir = tempDir('authmux-logrotate-');
  const etc = new EtcTree(join(dir, 'root'));
  etc.addUser({ name: 'alice', uid: 5201 });
  etc.chpasswd('SHA512', [['alice', 'alice-pass']]);
  const logFile = join(dir, 'authmux.log');
  const d = await startDaemon({ args: ['-a', 'shadow'], config: `passwd_file: ${etc.passwd}\nshadow_file: ${etc.shadow}\n`, logFile });
  try {
    await testsaslauthd(d.socket, 'alice', 'before-rotation');
    await d.waitForLog(/auth failure: \[user=alice\].*\[reason=password mismatch\]/);
    renameSync(logFile, `${logFile}.1`);
    d.proc.kill('SIGUSR1');
    for (let i = 0; i < 100 && !existsSync(logFile); i++) await new Promise((r) => setTimeout(r, 20));
    await testsaslauthd(d.socket, 'alice', 'after-rotation');
    for (let i = 0; i < 100 && !readFileSync(logFile, 'latin1').includes('auth failure'); i++) await new Promise((r) => setTimeout(r, 20));
    const rotated = readFileSync(`${logFile}.1`, 'latin1');
    const fresh = readFileSync(logFile, 'latin1');
    assert.match(fresh, /SIGUSR1: log reopened/);
    assert.match(fresh, /auth failure: \[user=alice\]/);
    assert.doesNotMatch(rotated, /SIGUSR1/);
    assert.equal((rotated.match(/auth failure/g) ?? []).length, 1);
  } finally {
    await d.stop();
  }
});
