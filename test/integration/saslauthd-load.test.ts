import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { encodeRequest } from '../../src/protocol/saslauthd.js';
import { startDaemon, testsaslauthd, type RunningDaemon } from '../helpers/daemon.js';
import { EtcTree, mkpasswd, tempDir } from '../helpers/fixtures.js';
import { rawExchange, replyString } from '../helpers/raw-client.js';

/** Sends one request and closes the connection at once, as a client that gives up does. */
function sendAndLeave(socket: string, fields: string[]): Promise<void> {
  return new Promise((resolve) => {
    const s = connect(socket, () => s.write(encodeRequest(fields), () => {
      s.destroy();
      resolve();
    }));
    s.on('error', () => resolve());
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

describe('saslauthd under load: hash checks queue in the daemon, never fail for want of room', () => {
  let etc: EtcTree;
  let d: RunningDaemon;

  before(async () => {
    etc = new EtcTree(tempDir());
    etc.addUser({ name: 'slow', uid: 3001 });
    etc.addUser({ name: 'quick', uid: 3002 });
    // About 60 ms a check: a few hundred of them outlast any burst of the test.
    etc.setHash('slow', mkpasswd('sha-512', 'slow-pw', 200_000));
    etc.chpasswd('SHA512', [['quick', 'quick-pw']]);
    d = await startDaemon({ args: ['-a', 'shadow', '-n', '5'], config: `passwd_file: ${etc.passwd}\nshadow_file: ${etc.shadow}\nmax_connections: 4096\n` });
  });
  after(async () => {
    assert.equal(await d.stop(), 0);
  });

  test('400 slow requests sent and abandoned at once: the valid logins after them all succeed', async () => {
    await Promise.all(Array.from({ length: 400 }, () => sendAndLeave(d.socket, ['slow', 'wrong-pw', 'smtp', ''])));
    const results = await Promise.all(Array.from({ length: 20 }, () => testsaslauthd(d.socket, 'quick', 'quick-pw')));
    for (const r of results) assert.equal(r.stdout, '0: OK "Success."\n', r.stderr);
    assert.doesNotMatch(d.logs(), /Temporary failure|internal error/);
  });

  test('a burst of 2,000 concurrent valid logins: every one answered OK', async () => {
    const replies = await Promise.all(Array.from({ length: 2000 }, () => rawExchange(d.socket, encodeRequest(['quick', 'quick-pw', 'smtp', '']), { timeoutMs: 60_000 })));
    const texts = replies.map((r) => (r.kind === 'reply' ? replyString(r.bytes) : `${r.kind}${r.timedOut ? ' (timed out)' : ''}`));
    const notOk = texts.filter((t) => t !== 'OK');
    assert.deepEqual(notOk, [], `${notOk.length} of 2000 not OK, e.g. ${notOk[0]}`);
  });

  test('an unknown user costs a hash check too: its answer takes as long as a wrong password', async () => {
    // Teaches the daemon the scheme in use, as any login does.
    assert.equal((await testsaslauthd(d.socket, 'slow', 'slow-pw')).code, 0);
    const time = async (user: string) => {
      const t0 = performance.now();
      const r = await rawExchange(d.socket, encodeRequest([user, 'guess', 'smtp', '']));
      assert.equal(r.kind === 'reply' && replyString(r.bytes).startsWith('NO'), true);
      return performance.now() - t0;
    };
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 7; i++) {
      known.push(await time('slow'));
      unknown.push(await time(`nobody-${i}`));
    }
    // Without the decoy check an unknown user answers in about 1 ms against about 60 for a real one.
    assert.ok(median(unknown) > median(known) / 2, `unknown ${median(unknown).toFixed(1)} ms, known ${median(known).toFixed(1)} ms`);
  });
});
