import assert from 'node:assert/strict';
import { test } from 'node:test';
import { exactRow, selectUser, upsertLastauth } from '../../../../src/backends/vpopmail/queries.js';

test('statements carry values only as parameters; per-domain names are quoted per dialect', () => {
  const addr = { user: "o'brien", domain: 'mail-x.co.uk' };
  const my = selectUser('mysql', 'per-domain', addr, true)!;
  assert.equal(my.sql, 'SELECT pw_name, pw_passwd, pw_gid, pw_dir, pw_shell, pw_clear_passwd FROM `mail_x_co_uk` WHERE pw_name = ?');
  assert.deepEqual(my.params, ["o'brien"]);
  const pgMany = selectUser('pgsql', 'many-domains', addr, false)!;
  assert.equal(pgMany.sql, 'SELECT pw_name, pw_domain, pw_passwd, pw_gid, pw_dir, pw_shell FROM "vpopmail" WHERE pw_name = $1 AND pw_domain = $2');
  assert.equal(selectUser('pgsql', 'per-domain', { user: 'u', domain: 'ab.example' }, false)!.sql.includes('FROM "ab_example"'), true);
  assert.match(upsertLastauth('mysql', addr, '192.0.2.1', 5).sql, /^REPLACE INTO lastauth \(user, domain, remote_ip, timestamp\)/);
  assert.match(upsertLastauth('pgsql', addr, '192.0.2.1', 5).sql, /INSERT INTO lastauth \(userid, .*ON CONFLICT \(userid, domain\)/);
});

test('only a row whose key is byte for byte the login counts', () => {
  const addr = { user: 'alice', domain: 'example.com' };
  const row = (pw_name: unknown, pw_domain: unknown = 'example.com') => ({ pw_name, pw_domain, pw_passwd: 'x' });
  for (const twin of ['Alice', 'alice ', 'alic\u00e9', 'ALICE']) {
    assert.equal(exactRow([row(twin)], 'many-domains', addr), undefined, twin);
    assert.equal(exactRow([row(twin)], 'per-domain', addr), undefined, twin);
  }
  assert.equal(exactRow([row('alice', 'Example.COM')], 'many-domains', addr), undefined);
  assert.equal(exactRow([row('alice', 'example.com ')], 'many-domains', addr), undefined);
  assert.equal(exactRow([row('alice', null)], 'many-domains', addr), undefined, 'many-domains needs the domain back');
  const exact = row('alice');
  assert.equal(exactRow([row('Alice'), exact], 'many-domains', addr), exact, 'a twin ahead of it does not hide the account');
  assert.ok(exactRow([row(Buffer.from('alice'), Buffer.from('example.com'))], 'many-domains', addr), 'binary columns compare as bytes');
  assert.equal(exactRow([], 'per-domain', addr), undefined);
});
