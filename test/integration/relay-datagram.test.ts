import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { startDaemon } from '../helpers/daemon.js';
import { login, makeSite, relayCli, until } from '../helpers/relay-site.js';

describe('grants as Unix datagrams (unix-dgram)', () => {
  test('each grant and each deletion arrives as one JSON object', async () => {
    const site = makeSite();
    const path = join(site.dir, 'events');
    const require = createRequire(import.meta.url);
    const unix = require('unix-dgram') as { createSocket(t: string, cb: (msg: Buffer) => void): { bind(p: string): void; close(): void } };
    const got: Array<Record<string, unknown>> = [];
    const listener = unix.createSocket('unix_dgram', (msg) => got.push(JSON.parse(msg.toString()) as Record<string, unknown>));
    listener.bind(path);
    const d = await startDaemon({ config: [...site.base, `relay_file: ${site.dir}/relayers`, `relay_datagram: ${path}`].join('\n') });
    try {
      assert.equal(await login(d, 'imap', '192.0.2.66;143'), 'OK');
      assert.equal((await relayCli(d.configFile, 'delete', '192.0.2.66')).code, 0);
      await until('two events', () => got.length >= 2);
      assert.equal(got[0]!['event'], 'grant');
      assert.equal(got[0]!['ip'], '192.0.2.66');
      assert.equal(Number(got[0]!['until']) - Number(got[0]!['at']), 1800);
      assert.deepEqual(got[1], { event: 'delete', ip: '192.0.2.66' });
    } finally {
      listener.close();
      await d.stop();
    }
  });
});
