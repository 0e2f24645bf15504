import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { askSaslauthd } from '../../src/cli/testsaslauthd.js';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { PrivatePostfix, relayAttempt } from '../helpers/postfix.js';
import { makeSite } from '../helpers/relay-site.js';
import { SocketmapClient } from '../helpers/socketmap-client.js';

/** Sends `first`, then one more byte every `everyMs`, never finishing; resolves with who closed the connection. */
function trickle(path: string, first: string, everyMs: number, guardMs: number): Promise<'server' | 'guard'> {
  return new Promise((resolve) => {
    const s = connect(path);
    let guard = false;
    const drip = setInterval(() => s.write('x'), everyMs);
    const timer = setTimeout(() => {
      guard = true;
      s.destroy();
    }, guardMs);
    s.on('connect', () => s.write(first));
    s.on('error', () => undefined);
    s.on('close', () => {
      clearInterval(drip);
      clearTimeout(timer);
      resolve(guard ? 'guard' : 'server');
    });
  });
}

async function closedWithin(c: SocketmapClient, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!c.closed && Date.now() < end) await sleep(50);
  return c.closed;
}

describe('socketmap deadlines: request_timeout for a request begun, idle_timeout between requests', () => {
  const site = makeSite();
  const dir = site.dir;
  const socketmap = join(dir, 'relay.socketmap');
  let d: RunningDaemon;
  let postfix: PrivatePostfix | undefined;

  before(async () => {
    d = await startDaemon({
      config: [...site.base, `relay_socketmap: ${socketmap}`, `relay_file: ${dir}/relayers`,
        'relay_ignore: ::1', 'request_timeout: 1', 'idle_timeout: 2'].join('\n'),
    });
  });
  after(async () => {
    postfix?.stop();
    await d?.stop();
  });

  test('a request sent a byte at a time is cut off after request_timeout, not kept alive by each byte', async () => {
    // Each byte is valid body: only the deadline can end it.
    assert.equal(await trickle(socketmap, '99999:relay ', 200, 8000), 'server');
  });

  test('a connection in use stays open; once idle it is closed after idle_timeout', async () => {
    const c = await SocketmapClient.open(socketmap);
    const until = Date.now() + 4000;
    while (Date.now() < until) {
      assert.equal(await c.lookup('198.51.100.3'), 'NOTFOUND ', 'lookups every half second keep the connection');
      await sleep(500);
    }
    assert.equal(await closedWithin(c, 6000), true, 'the daemon closes an idle connection');
    const fresh = await SocketmapClient.open(socketmap);
    assert.equal(await closedWithin(fresh, 6000), true, 'one that never sent anything too');
  });

  test("Postfix's smtpd reconnects by itself after the daemon closed its idle connection", async () => {
    postfix = PrivatePostfix.start(`socketmap:unix:${socketmap}:relay`);
    for (let i = 0; ; i++) {
      try {
        relayAttempt(postfix.port, '127.0.0.5');
        break;
      } catch (err) {
        if (i > 100) throw err;
        await sleep(100);
      }
    }
    assert.equal(await askSaslauthd(d.socket, ['carol', 'carol-pw', 'pop3', '', '127.0.0.5;110']), 'OK');
    for (let i = 0; i < 50 && relayAttempt(postfix.port, '127.0.0.5') !== '250'; i++) await sleep(100);
    for (let round = 0; round < 2; round++) {
      // Longer than idle_timeout: the smtpd's socketmap connection has been closed under it.
      await sleep(3000);
      assert.equal(relayAttempt(postfix.port, '127.0.0.5'), '250', postfix.log());
      assert.equal(relayAttempt(postfix.port, '127.0.0.6'), '554', postfix.log());
    }
    assert.doesNotMatch(postfix.log(), /socketmap.*(fail|error|lost|timeout)|warning: .*relay\.socketmap/i);
  });
});
