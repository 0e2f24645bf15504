import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { test } from 'node:test';
import { createPgsqlAdapter } from '../../../src/sql/pgsql.js';

/** One backend message: type byte, length (itself included), body. */
function message(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeUInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

// A backend terminated the moment it became ready (pg_terminate_backend racing a new connection) sends
// ReadyForQuery and the FATAL in one read. No real server can be made to do that on cue, so this one
// speaks just that much of the protocol. The client must fail the request, not the process.
test('a backend cut in the same read that made it ready fails the request, not the process', async () => {
  const int32 = (n: number) => Buffer.from([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
  const fatal = ['SFATAL', 'VFATAL', 'C57P01', 'Mterminating connection due to administrator command'].map((f) => `${f}\0`).join('') + '\0';
  const server = createServer((sock) => {
    sock.once('data', () => {
      sock.end(Buffer.concat([message('R', int32(0)), message('Z', Buffer.from('I')), message('E', Buffer.from(fatal, 'latin1'))]));
    });
    sock.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const uncaught: Error[] = [];
  const onUncaught = (err: Error) => uncaught.push(err);
  process.on('uncaughtException', onUncaught);
  const idle: string[] = [];
  const adapter = createPgsqlAdapter({
    connection: { driver: 'pgsql', host: '127.0.0.1', port, socketPath: undefined, user: 'u', password: 'p', database: 'd' },
    size: 1,
    connectTimeoutMs: 2000,
    onIdleError: (m) => idle.push(m),
  });
  try {
    await assert.rejects(adapter.run('SELECT 1', [], 2000));
    // Whatever else the cut client reports arrives within a turn or two.
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(uncaught, []);
  } finally {
    process.off('uncaughtException', onUncaught);
    await adapter.close();
    server.close();
  }
});
