import assert from 'node:assert/strict';
import { test } from 'node:test';
import { penaltyKey, PenaltyTable } from '../../../src/auth/penalty.js';

const table = (entries = 1000) => new PenaltyTable({ baseMs: 2000, maxMs: 15_000, entries, forgetAfterMs: 3_600_000 });
const pw = (s: string) => Buffer.from(s);

test('consecutive failures: 2 s, 4 s, 8 s, then the cap; a success clears the address', () => {
  const t = table();
  assert.equal(t.delayMs('192.0.2.1'), 0);
  const seen = [];
  for (let i = 0; i < 5; i++) {
    t.failed('192.0.2.1', 'u', pw(`guess${i}`));
    seen.push(t.delayMs('192.0.2.1'));
  }
  assert.deepEqual(seen, [2000, 4000, 8000, 15_000, 15_000]);
  assert.equal(t.delayMs('192.0.2.2'), 0, 'another address is not touched');
  t.succeeded('192.0.2.1');
  assert.equal(t.delayMs('192.0.2.1'), 0);
});

test('repeating one of the last 10 user+password pairs does not raise it; an eleventh pair back does', () => {
  const t = table();
  t.failed('192.0.2.9', 'alice', pw('stale'));
  t.failed('192.0.2.9', 'alice', pw('stale'));
  t.failed('192.0.2.9', 'alice', pw('stale'));
  assert.equal(t.failures('192.0.2.9'), 1, 'a phone retrying a stale password');
  t.failed('192.0.2.9', 'bob', pw('stale'));
  assert.equal(t.failures('192.0.2.9'), 2, 'the same password for another login is another pair');
  for (let i = 0; i < 10; i++) t.failed('192.0.2.9', 'alice', pw(`p${i}`));
  t.failed('192.0.2.9', 'alice', pw('stale'));
  assert.equal(t.failures('192.0.2.9'), 13, 'pushed out of the last 10, it counts again');
});

test('IPv6 is counted per /48: stepping through a site\'s own addresses starts no clean slate', () => {
  assert.equal(penaltyKey('2001:db8:1:2::5'), '2001:db8:1::/48');
  assert.equal(penaltyKey('2001:db8:1:ffff:1:2:3:4'), '2001:db8:1::/48');
  assert.equal(penaltyKey('::1'), '0:0:0::/48');
  const t = table();
  t.failed('2001:db8:1:2::5', 'u', pw('a'));
  t.failed('2001:db8:1:3::77', 'u', pw('b'));
  assert.equal(t.delayMs('2001:db8:1:4::1'), 4000);
  assert.equal(t.delayMs('2001:db8:2::1'), 0);
});

test('an attack from a million addresses keeps the table at its size', () => {
  const t = table(5000);
  for (let i = 0; i < 1_000_000; i += 97) t.failed(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, 'u', pw('x'));
  assert.equal(t.size, 5000);
});

test('nothing kept is the password', () => {
  const t = table();
  t.failed('192.0.2.5', 'carol', pw('hunter2-secret'));
  const dump = JSON.stringify(t, (_k, v: unknown) => (v instanceof Map ? [...v] : v));
  assert.doesNotMatch(dump, /hunter2/);
});
