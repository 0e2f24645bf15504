import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { encodeRequest } from '../../src/protocol/saslauthd.js';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { EtcTree, tempDir } from '../helpers/fixtures.js';
import { rawExchange, replyString } from '../helpers/raw-client.js';

// The daemons below must size their pools themselves.
delete process.env['UV_THREADPOOL_SIZE'];

const threads = (pid: number) => readdirSync(`/proc/${pid}/task`).length;
const children = (pid: number) => execFileSync('pgrep', ['-P', String(pid)]).toString().trim().split(/\s+/).map(Number);

async function loginOk(d: RunningDaemon): Promise<void> {
  const r = await rawExchange(d.socket, encodeRequest(['alice', 'alice-pass', 'imap', '']), { timeoutMs: 10_000 });
  assert.equal(r.kind === 'reply' ? replyString(r.bytes) : r.kind, 'OK');
}

test('-n sizes the thread pool the hashes run on (libuv fixes it before the modules load): -n9 has seven threads more than -n 2; a serving process gets its share', async () => {
  const etc = new EtcTree(join(tempDir('authmux-pool-'), 'root'));
  etc.addUser({ name: 'alice', uid: 5201 });
  etc.chpasswd('SHA512', [['alice', 'alice-pass']]);
  const config = `passwd_file: ${etc.passwd}\nshadow_file: ${etc.shadow}\n`;
  const two = await startDaemon({ args: ['-a', 'shadow', '-n', '2'], config });
  const nine = await startDaemon({ args: ['-a', 'shadow', '-cn9'], config });
  try {
    await loginOk(two);
    await loginOk(nine);
    assert.equal(threads(nine.proc.pid!) - threads(two.proc.pid!), 7);
  } finally {
    await two.stop();
    await nine.stop();
  }
  // The last -n counts, as getopt reads it; an inherited UV_THREADPOOL_SIZE, odd or not, does not override -n.
  const again = await startDaemon({ args: ['-a', 'shadow', '-n', '9', '-n', '2'], config });
  const odd = await startDaemon({ args: ['-a', 'shadow', '-n', '9'], config, env: { UV_THREADPOOL_SIZE: '-1' } });
  const small = await startDaemon({ args: ['-a', 'shadow', '-n', '2'], config, env: { UV_THREADPOOL_SIZE: '' } });
  try {
    for (const d of [again, odd, small]) await loginOk(d);
    assert.equal(threads(odd.proc.pid!) - threads(again.proc.pid!), 7, 'UV_THREADPOOL_SIZE=-1 is a 1024-thread pool to libuv');
    assert.equal(threads(small.proc.pid!), threads(again.proc.pid!));
  } finally {
    for (const d of [again, odd, small]) await d.stop();
  }
  const shared = await startDaemon({ args: ['-a', 'shadow', '-n', '6'], config: `${config}serve_processes: 2\n`, env: { UV_THREADPOOL_SIZE: '3' } });
  try {
    await loginOk(shared);
    const [serving] = children(shared.proc.pid!);
    const env = readFileSync(`/proc/${serving}/environ`, 'latin1').split('\0');
    assert.ok(env.includes('UV_THREADPOOL_SIZE=3'), 'half of -n 6');
    assert.equal(threads(shared.proc.pid!) - threads(serving!), 3, 'the first has the whole -n 6 (the inherited 3 notwithstanding), its serving process half');
  } finally {
    await shared.stop();
  }
});
