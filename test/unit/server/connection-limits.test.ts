import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../../src/log.js';
import { ConnectionLimits, descriptorShortfall } from '../../../src/server/connection-limits.js';
import { tempDir } from '../../helpers/fixtures.js';

const none = () => undefined;
const warnings: string[] = [];
const log: Logger = { debug: none, info: none, warn: (m) => warnings.push(m), error: none, close: none };

/** The uid the next accepted connection is said to come from; the real SO_PEERCRED has its own test. */
let nextUid = 0;
let limits: ConnectionLimits;
let server: Server;
let verdict: ((kept: boolean) => void) | undefined;
const path = join(tempDir(), 'limits.sock');

before(async () => {
  limits = new ConnectionLimits({ maxConnections: 10, maxPerUser: 2, trustedUids: new Set([0, 108]) }, log, () => nextUid);
  server = createServer((s) => verdict!(limits.admit(s, 'test') !== undefined));
  await new Promise<void>((r) => server.listen(path, r));
});
after(async () => {
  limits.close();
  await new Promise<void>((r) => server.close(() => r()));
});

/** Connects as `uid`; the connection when the server kept it. */
async function open(uid: number): Promise<Socket | undefined> {
  nextUid = uid;
  const decided = new Promise<boolean>((r) => (verdict = r));
  const c = connect(path).on('error', none);
  if (await decided) return c;
  c.destroy();
  return undefined;
}

/** Closes them and waits until the server has seen every close. */
async function closeAll(conns: Array<Socket | undefined>): Promise<void> {
  for (const c of conns) c?.destroy();
  while (limits.open > 0) await sleep(5);
}

test('an ordinary user gets max_connections_per_user; another ordinary user still gets its own; closing frees the slot', async () => {
  const a = [await open(5000), await open(5000), await open(5000)];
  assert.deepEqual(a.map(Boolean), [true, true, false]);
  const b = await open(5001);
  assert.ok(b, 'another user is not held to the first one\'s count');
  a[0]!.destroy();
  while (limits.open > 2) await sleep(5);
  const again = await open(5000);
  assert.ok(again, 'a closed connection frees its slot');
  await closeAll([...a, b, again]);
  assert.match(warnings[0]!, /^connection refused: uid 5000 already holds max_connections_per_user \(2\) \(test\)$/);
});

test('ordinary users together get half of max_connections; root and trusted users get the rest, up to max_connections', async () => {
  const ordinary: Array<Socket | undefined> = [];
  for (let uid = 6000; uid < 6010; uid++) ordinary.push(await open(uid));
  assert.equal(ordinary.filter(Boolean).length, 5, 'half of 10');
  const trusted: Array<Socket | undefined> = [];
  for (const uid of [0, 108, 0, 108, 0, 108]) trusted.push(await open(uid));
  assert.deepEqual(trusted.map(Boolean), [true, true, true, true, true, false], 'the trusted fill the other half, then max_connections holds');
  assert.equal(limits.open, 10);
  await closeAll([...ordinary, ...trusted]);
});

test('without peer credentials every peer is bound only by max_connections', async () => {
  const blind = new ConnectionLimits({ maxConnections: 3, maxPerUser: 1, trustedUids: new Set([0]) }, log, undefined);
  const p = join(tempDir(), 'blind.sock');
  const held: Socket[] = [];
  const srv = createServer((s) => {
    if (blind.admit(s, 'blind')) held.push(s);
  });
  await new Promise<void>((r) => srv.listen(p, r));
  const clients = Array.from({ length: 5 }, () => connect(p).on('error', none));
  while (held.length < 3) await sleep(5);
  await sleep(50);
  assert.equal(blind.open, 3);
  for (const c of clients) c.destroy();
  blind.close();
  await new Promise<void>((r) => srv.close(() => r()));
});

test('a descriptor limit below max_connections is reported', () => {
  const f = join(tempDir(), 'limits');
  writeFileSync(f, 'Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 524288               files\n');
  assert.match(descriptorShortfall(4096, f)!, /only 1024 descriptors.*at least 4160/);
  assert.equal(descriptorShortfall(900, f), undefined);
  assert.equal(descriptorShortfall(4096, join(tempDir(), 'missing')), undefined);
});
