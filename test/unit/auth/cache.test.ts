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

test('scoped views share one table and its bound, and never answer for each other', () => {
  const c = new CredentialCache({ entries: 3, ttlMs: 60_000 });
  const shadow = c.scoped('shadow');
  const sasldb = c.scoped('sasldb');
  sasldb.store('alice', '', 'imap', pw('secret'), 'sasldb-g');
  // Another scope's generation must neither hit nor drop the entry.
  assert.equal(shadow.hit('alice', '', 'imap', pw('secret'), 'shadow-g'), false);
  assert.equal(shadow.hitStale('alice', '', 'imap', pw('secret')), false);
  assert.equal(sasldb.hit('alice', '', 'imap', pw('secret'), 'sasldb-g'), true);
  shadow.store('bob', '', 'imap', pw('p'), 'g');
  shadow.store('carol', '', 'imap', pw('p'), 'g');
  shadow.store('dave', '', 'imap', pw('p'), 'g');
  assert.equal(c.size, 3, 'one bound for all scopes');
  c.clear();
  assert.equal(shadow.hit('dave', '', 'imap', pw('p'), 'g'), false, 'clearing the table clears every scope');
});

test('hitWithin: a recent success with the same password, whatever the generation; a lifetime of 0 stores nothing', async () => {
  const c = new CredentialCache({ entries: 10, ttlMs: 60_000 });
  c.store('alice', '', 'imap', pw('secret'), 'g1');
  assert.equal(c.hitWithin('alice', '', 'imap', pw('secret'), 1000), true);
  assert.equal(c.hitWithin('alice', '', 'imap', pw('secreT'), 1000), false);
  await sleep(60);
  assert.equal(c.hitWithin('alice', '', 'imap', pw('secret'), 50), false, 'older than asked for');
  assert.equal(c.hit('alice', '', 'imap', pw('secret'), 'g1'), true, 'still there for a generation check');
  c.store('bob', '', 'imap', pw('p'), 'g', 0);
  assert.equal(c.hit('bob', '', 'imap', pw('p'), 'g'), false);
  c.store('alice', '', 'imap', pw('secret'), 'g1', 0);
  assert.equal(c.hit('alice', '', 'imap', pw('secret'), 'g1'), false, 'and drops what was there');
});

test('fingerprint: the same data gives the same value within one cache, another data or another cache another, and the data is not in it', () => {
  const a = new CredentialCache({ entries: 10, ttlMs: 60_000 });
  const b = new CredentialCache({ entries: 10, ttlMs: 60_000 });
  const secret = '$1$salt$0123456789abcdefghijkl\0false\u000020400';
  assert.equal(a.fingerprint(secret), a.fingerprint(secret));
  assert.notEqual(a.fingerprint(secret), a.fingerprint(secret.replace('20400', '20401')));
  assert.notEqual(a.fingerprint(secret), b.fingerprint(secret));
  assert.equal(Buffer.from(a.fingerprint(secret), 'base64').length, 32);
  assert.ok(!a.fingerprint(secret).includes('salt'));
});
