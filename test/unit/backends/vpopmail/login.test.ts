import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseVpopmailLogin, perDomainTable } from '../../../../src/backends/vpopmail/login.js';
import { selectUser } from '../../../../src/backends/vpopmail/queries.js';

test('logins split as vchkpw splits them, lowercased, with realm then default domain', () => {
  assert.deepEqual(parseVpopmailLogin('Alice@Example.COM', '', 'd.org'), { user: 'alice', domain: 'example.com' });
  assert.deepEqual(parseVpopmailLogin('alice%example.com', '', ''), { user: 'alice', domain: 'example.com' });
  assert.deepEqual(parseVpopmailLogin('alice/example.com', '', ''), { user: 'alice', domain: 'example.com' });
  // The first separator wins: the rest belongs to the domain and makes it invalid.
  assert.equal(parseVpopmailLogin('a@b@example.com', '', ''), undefined);
  assert.deepEqual(parseVpopmailLogin('alice', 'Realm.Example', 'd.org'), { user: 'alice', domain: 'realm.example' });
  assert.deepEqual(parseVpopmailLogin('alice', '', 'd.org'), { user: 'alice', domain: 'd.org' });
  assert.equal(parseVpopmailLogin('alice', '', ''), undefined, 'no domain anywhere');
  assert.equal(parseVpopmailLogin('@example.com', '', ''), undefined, 'empty user');
  assert.equal(parseVpopmailLogin('a\x00b@example.com', '', ''), undefined, 'control characters');
  assert.equal(parseVpopmailLogin(`${'a'.repeat(65)}@example.com`, '', ''), undefined, 'longer than pw_name');
  // Only ASCII folds: a latin1 byte is never turned into another user's name (nor looked up at all: vpopmail cannot create it).
  assert.equal(parseVpopmailLogin('\u00c9ric@example.com', '', ''), undefined);
});

test('hostile domains never become table names', () => {
  for (const d of ['x`; DROP TABLE vpopmail; --', 'a"b', "a'b", 'a b', 'a/b', '-lead.com', 'trail.com-', 'a\\b', 'a;b', '']) {
    assert.equal(parseVpopmailLogin(`u@${d}`, '', ''), undefined, d);
    assert.equal(perDomainTable(d), undefined);
  }
  assert.equal(perDomainTable('mail-x.co.uk'), 'mail_x_co_uk');
  // vpopmail's own tables are never read as a domain's users.
  for (const d of ['lastauth', 'vpopmail', 'dir.control', 'ip-alias.map', 'localhost']) assert.equal(perDomainTable(d), undefined, d);
  assert.equal(selectUser('mysql', 'per-domain', { user: 'u', domain: 'dir.control' }, false), undefined);
});

test('local parts: the characters vpopmail can create, and nothing else', () => {
  for (const user of ["o'brien", 'a.b', 'x+tag', 'q#1', 'a=b?c', 't~u', 'h|i', 's$t&', 'b`q', 'c^d', 'e*f!', '{x}', 'under_score', 'dash-1']) {
    assert.deepEqual(parseVpopmailLogin(`${user}@example.com`, '', ''), { user, domain: 'example.com' }, user);
  }
  for (const user of ['a b', 'alice ', ' alice', 'a\\b', 'a"b', 'a(b)', 'a,b', 'a;b', 'a:b', 'a<b>', 'a[b]', 'al\u00efce', 'caf\u00e9', 'a\tb', 'a\x7fb', '\u00a0alice']) {
    assert.equal(parseVpopmailLogin(`${user}@example.com`, '', ''), undefined, JSON.stringify(user));
    assert.equal(parseVpopmailLogin(user, 'example.com', ''), undefined, JSON.stringify(user));
  }
});
