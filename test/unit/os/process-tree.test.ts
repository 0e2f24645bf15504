import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { descendantsOf } from '../../../src/os/process-tree.js';

test('finds grandchildren that left the session (setsid), and nothing outside the tree', async () => {
  const sh = spawn('sh', ['-c', 'setsid sleep 30 & sleep 30 & wait'], { stdio: 'ignore' });
  try {
    let found: number[] = [];
    for (let i = 0; i < 50 && found.length < 2; i++) {
      await sleep(20);
      found = descendantsOf(sh.pid!);
    }
    assert.equal(found.length, 2);
    assert.ok(!found.includes(process.pid));
    for (const pid of found) process.kill(pid, 'SIGKILL');
  } finally {
    sh.kill('SIGKILL');
  }
});
