import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CredentialCache } from '../../../src/auth/cache.js';

const pw = (s: string) => Buffer.from(s);

test('a hit needs the same user, realm, service, password and data generation', () => {
  const c = new CredentialCache({ entries: 10, ttlMs: 60_000 });
  c.store('alice', 'r', 'imap', pw('secret'), 'g1');
  assert.equal(c.hit('alice', 'r', 'imap', pw('secret'), 'g1'), true);
  assert.equal(c.hit('alice', 'r', 'imap', pw('Secret'), 'g1'), false);
  assert.equal(c.hit('alice', 'r', 'smtp', pw('secret'), 'g1'), false);
  assert.equal(c.hit('alice', 'x', 'imap', pw('secret'), 'g1'), false);
  assert.equal(c.hit('bob', 'r', 'imap', pw('secret'), 'g1'), false);
  // "a\0b" tricks: the separators cannot be forged because fields never hold NUL
  assert.equal(c.hit('alice', 'r', 'imap', pw('secret'), 'g2'), false, 'data changed: entry dropped');
  assert.equal(c.hit('alice', 'r', 'imap', pw('secret'), 'g1'), false, 'and it stays dropped');
});

test('nothing in the cache is the password or an unkeyed digest of it', () => {
  const c = new CredentialCache({ entries: 10, ttlMs: 60_000 });
  c.store('alice', '', 'imap', pw('secret'), undefined);
  const dump = JSON.stringify((c as unknown as { lru: { dump(): unknown } }).lru.dump());
  assert.ok(!dump.includes('secret'));
  const c2 = new CredentialCache({ entries: 10, ttlMs: 60_000 });
  c2.store('alice', '', 'imap', pw('secret'), undefined);
  const dump2 = JSON.stringify((c2 as unknown as { lru: { dump(): unknown } }).lru.dump());
  assert.notEqual(dump, dump2, 'two processes (two keys) store different values for the same password');
});

test('entries expire after the TTL, hits do not extend it, and size is bounded', async () => {
  const c = new CredentialCache({ entries: 3, ttlMs: 150 });
  c.store('a', '', '', pw('p'), undefined);
  await sleep(90);
  assert.equal(c.hit('a', '', '', pw('p'), undefined), true);
  await sleep(90);
  assert.equal(c.hit('a', '', '', pw('p'), undefined), false);
  for (const u of ['1', '2', '3', '4', '5']) c.store(u, '', '', pw('p'), undefined);
  assert.equal(c.size, 3);
});
