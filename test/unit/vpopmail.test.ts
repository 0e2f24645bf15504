import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Authenticator } from '../../src/auth/authenticator.js';
import { CredentialCache } from '../../src/auth/cache.js';
import { TempFail } from '../../src/errors.js';
import type { AuthRequest, Backend, PasswordRecord } from '../../src/auth/types.js';
import { serviceRefused } from '../../src/backends/vpopmail/flags.js';
import { DEFAULT_SERVICE_FLAGS, parseServiceFlags, VPOPMAIL_FLAGS } from '../../src/config/vpopmail.js';
import { parseVpopmailLogin, perDomainTable } from '../../src/backends/vpopmail/login.js';
import { exactRow, selectUser, upsertLastauth } from '../../src/backends/vpopmail/queries.js';
import { parseSqlUrl, parseVpopmailLine, readVpopmailConnFile } from '../../src/config/sql-connection.js';
import { createVerifier } from '../../src/crypt/verifier.js';
import { mkpasswd, tempDir } from '../helpers/fixtures.js';

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

test('service flags: defaults as vchkpw, configurable, unknown services unrestricted', () => {
  const map = parseServiceFlags(DEFAULT_SERVICE_FLAGS, 'default');
  assert.equal(serviceRefused(VPOPMAIL_FLAGS.NO_POP, 'pop3', map), true);
  assert.equal(serviceRefused(VPOPMAIL_FLAGS.NO_POP, 'POP', map), true);
  assert.equal(serviceRefused(VPOPMAIL_FLAGS.NO_POP, 'imap', map), false);
  assert.equal(serviceRefused(VPOPMAIL_FLAGS.NO_IMAP, 'imap', map), true);
  assert.equal(serviceRefused(VPOPMAIL_FLAGS.NO_SMTP, 'smtp', map), true);
  assert.equal(serviceRefused(VPOPMAIL_FLAGS.NO_SMTP, 'submission', map), true);
  assert.equal(serviceRefused(VPOPMAIL_FLAGS.NO_WEBMAIL, 'webmail', map), true);
  assert.equal(serviceRefused(VPOPMAIL_FLAGS.NO_RELAY, 'smtp', map), false, 'NO_RELAY refuses no login');
  assert.equal(serviceRefused(0xffff, 'sieve', map), false);
  const custom = parseServiceFlags('sieve=NO_IMAP, esmtp=no_smtp', 'conf:1');
  assert.equal(serviceRefused(VPOPMAIL_FLAGS.NO_IMAP, 'sieve', custom), true);
  assert.equal(serviceRefused(VPOPMAIL_FLAGS.NO_SMTP, 'esmtp', custom), true);
  assert.throws(() => parseServiceFlags('pop3=NO_SUCH', 'conf:2'), /conf:2: "pop3=NO_SUCH" is not service=FLAG/);
});

test("vpopmail.mysql lines: port or socket, 0 = default, a '|' inside the password", () => {
  assert.deepEqual(parseVpopmailLine('localhost|0|vpopmail|secret|vpopmail', 'mysql', 'f:1'), {
    driver: 'mysql', host: 'localhost', port: undefined, socketPath: '/run/mysqld/mysqld.sock', user: 'vpopmail', password: 'secret', database: 'vpopmail',
  });
  const tcp = parseVpopmailLine('db.example|3307|u|p|vp', 'mysql', 'f:1');
  assert.equal(tcp.port, 3307);
  assert.equal(tcp.socketPath, undefined);
  assert.equal(parseVpopmailLine('localhost|/tmp/my.sock|u|p|vp', 'mysql', 'f:1').socketPath, '/tmp/my.sock');
  assert.equal(parseVpopmailLine('localhost|0|u|p|vp', 'pgsql', 'f:1').socketPath, undefined, 'libpq: localhost is TCP');
  assert.equal(parseVpopmailLine('h|0|u|a|b||c|vp', 'mysql', 'f:1').password, 'a|b||c');
  assert.throws(() => parseVpopmailLine('h|0|u|vp', 'mysql', 'f:3'), /f:3: expected host\|port\|user\|password\|database, found 4 fields/);
  assert.throws(() => parseVpopmailLine('h|abc|u|p|vp', 'mysql', 'f:3'), /port number or a socket path/);

  const dir = tempDir();
  const file = join(dir, 'vpopmail.mysql');
  writeFileSync(file, '# read\nlocalhost|0|reader|r|vpopmail\n\n# write\nmaster.example|3306|writer|w|vpopmail\n');
  const both = readVpopmailConnFile(file, 'mysql');
  assert.equal(both.read.user, 'reader');
  assert.equal(both.write.host, 'master.example');
  writeFileSync(file, '# nothing\n');
  assert.throws(() => readVpopmailConnFile(file, 'mysql'), /no connection line/);
});

test('vpopmail_sql URLs', () => {
  const u = parseSqlUrl('mysql://vp:p%7Cw@db.example:3307/vpopmail', 'conf:1');
  assert.deepEqual([u.driver, u.host, u.port, u.user, u.password, u.database], ['mysql', 'db.example', 3307, 'vp', 'p|w', 'vpopmail']);
  assert.equal(parseSqlUrl('postgres://vp@localhost/vpopmail', 'c').driver, 'pgsql');
  assert.equal(parseSqlUrl('mysql://root@localhost/vp?socket=/run/mysqld/mysqld.sock', 'c').socketPath, '/run/mysqld/mysqld.sock');
  assert.throws(() => parseSqlUrl('redis://x/1', 'conf:4'), /conf:4: unknown database scheme/);
  assert.throws(() => parseSqlUrl('mysql://u:topsecret@h', 'conf:5'), /names no database/);
  assert.throws(() => parseSqlUrl('not a url topsecret', 'conf:6'), /conf:6: not a URL/);
});

/** A source without a change signal whose answers the test controls, down to failing. */
class ScriptedSource implements Backend {
  readonly mech = 'scripted';
  readonly terseReplies = false;
  record: PasswordRecord | undefined;
  down = false;
  lookups = 0;
  logins: string[] = [];
  lookup(): PasswordRecord | undefined {
    this.lookups++;
    if (this.down) throw new TempFail('database unreachable: ECONNREFUSED');
    return this.record;
  }
  recordLogin(req: AuthRequest): void {
    this.logins.push(req.login);
  }
}

test('no change signal: every request asks the source, a changed password counts at once, an outage is served from the cache', async () => {
  const verifier = createVerifier({ engine: 'libxcrypt', concurrency: 2 });
  const src = new ScriptedSource();
  const cache = new CredentialCache({ entries: 100, ttlMs: 60_000 });
  const a = new Authenticator({ backend: src, verifier, cache, combineRealm: false });
  const ask = (pw: string) => a.authenticate({ login: 'u@example.com', password: Buffer.from(pw), service: 'imap', realm: '' });
  src.record = { user: 'u', secret: mkpasswd('sha512crypt', 'first'), secretIsPlaintext: false, system: false, mayRelay: true };

  assert.equal((await ask('first')).kind, 'ok');
  const second = await ask('first');
  assert.deepEqual([second.kind, second.kind === 'ok' && second.cached], ['ok', true], 'the hash is not computed again');
  assert.equal(src.lookups, 2, 'but the source is asked every time');

  src.record = { user: 'u', secret: mkpasswd('sha512crypt', 'second'), secretIsPlaintext: false, system: false, mayRelay: true };
  assert.equal((await ask('first')).kind, 'fail', 'the old password stops working with the very next request');
  assert.equal((await ask('second')).kind, 'ok');

  src.down = true;
  const stale = await ask('second');
  assert.deepEqual(stale, { kind: 'ok', cached: true, stale: true });
  assert.equal((await ask('first')).kind, 'tempfail', 'a password the cache does not hold is never an OK while the source is down');
  assert.equal((await ask('guess')).kind, 'tempfail');
  assert.deepEqual(src.logins, ['u@example.com', 'u@example.com', 'u@example.com', 'u@example.com'], 'each success, and only successes, is recorded');

  src.down = false;
  src.record = { user: 'u', secret: mkpasswd('sha512crypt', 'third'), secretIsPlaintext: false, system: false, mayRelay: true };
  assert.equal((await ask('second')).kind, 'fail');
  src.down = true;
  assert.equal((await ask('second')).kind, 'tempfail', 'a refused password dropped its entry: the outage cannot revive it');
  await verifier.close();
});

test('no change signal, no cache: an outage is a temporary failure', async () => {
  const verifier = createVerifier({ engine: 'libxcrypt', concurrency: 2 });
  const src = new ScriptedSource();
  src.record = { user: 'u', secret: 'x', secretIsPlaintext: true, system: false, mayRelay: true, policy: () => 'service_disabled' };
  const a = new Authenticator({ backend: src, verifier, combineRealm: false });
  const ask = (pw: string) => a.authenticate({ login: 'u', password: Buffer.from(pw), service: 'pop3', realm: '' });
  assert.deepEqual(await ask('x'), { kind: 'fail', code: 'service_disabled', reason: 'service disabled' });
  assert.deepEqual(await ask('y'), { kind: 'fail', code: 'bad_password', reason: 'password mismatch' }, 'a wrong password says nothing about the flags');
  src.down = true;
  assert.equal((await ask('x')).kind, 'tempfail');
  assert.deepEqual(src.logins, []);
  await verifier.close();
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
