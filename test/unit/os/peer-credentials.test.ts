import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadPeerUid } from '../../../src/os/peer-credentials.js';
import { tempDir } from '../../helpers/fixtures.js';

test('SO_PEERCRED gives the uid the client really runs as: root here, nobody from a process running as nobody', async () => {
  const peerUid = loadPeerUid();
  const dir = tempDir();
  chmodSync(dir, 0o755);
  const path = join(dir, 'peer.sock');
  const seen: Array<number | undefined> = [];
  const server = createServer((s) => {
    seen.push(peerUid(s));
    s.destroy();
  });
  await new Promise<void>((r) => server.listen({ path }, r));
  chmodSync(path, 0o777);
  try {
    await new Promise<void>((r) => connect(path).on('close', () => r()).on('error', () => undefined));
    const code = await new Promise<number | null>((r) => {
      const p = spawn(process.execPath, ['-e', `require('net').connect(${JSON.stringify(path)}).on('close', () => process.exit(0)).on('error', () => process.exit(3))`], { uid: 65534, gid: 65534, stdio: 'inherit' });
      p.on('exit', r);
    });
    assert.equal(code, 0);
    assert.deepEqual(seen, [process.getuid!(), 65534]);
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
});
