import assert from 'node:assert/strict';
import { chmodSync, renameSync, writeFileSync } from 'node:fs';
import { createHmac } from 'node:crypto';
import { join } from 'node:path';
import { test } from 'node:test';
import { Authenticator } from '../../../src/auth/authenticator.js';
import { CredentialCache } from '../../../src/auth/cache.js';
import type { AuthRequest, Backend, PasswordRecord } from '../../../src/auth/types.js';
import { decoyOf } from '../../../src/crypt/schemes.js';
import { TempFail } from '../../../src/errors.js';
import { createGetpwentBackend, createShadowBackend } from '../../../src/backends/shadow.js';
import { createSasldbBackend } from '../../../src/backends/sasldb/backend.js';
import { saslpasswd2 } from '../../helpers/sasldb.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { createVerifier, type Verifier } from '../../../src/crypt/verifier.js';
import { EtcTree, mkpasswd, tempDir, today } from '../../helpers/fixtures.js';

const verifier = createVerifier({ engine: 'libxcrypt', concurrency: 2 });
const req = (login: string, password: string, realm = '', service = 'imap'): AuthRequest => ({ login, password: Buffer.from(password), service, realm });

function shadowTree(): EtcTree {
  const t = new EtcTree(tempDir());
  t.addUser({ name: 'alice', uid: 1001 });
  t.addUser({ name: 'bob', uid: 1002 });
  t.addUser({ name: 'carol@example.com', uid: 1003 });
  t.chpasswd('SHA512', [['alice', 'old-pass'], ['bob', 'bob-pass'], ['carol@example.com', 'carol-pass']]);
  return t;
}

test('shadow: ok, wrong password, unknown user, and the record carries the account', async () => {
  const t = shadowTree();
  const a = new Authenticator({ backend: createShadowBackend(t.passwd, t.shadow), verifier, combineRealm: false });
  const ok = await a.authenticate(req('alice', 'old-pass'));
  assert.equal(ok.kind, 'ok');
  assert.equal(ok.kind === 'ok' && ok.record?.uid, 1001);
  assert.deepEqual(await a.authenticate(req('alice', 'wrong')), { kind: 'fail', code: 'bad_password', reason: 'password mismatch' });
  assert.equal((await a.authenticate(req('mallory', 'x'))).kind === 'fail' && 'no_such_user', 'no_such_user');
});

test('-r: the backend sees login@realm only when the realm is not empty', async () => {
  const t = shadowTree();
  const with_r = new Authenticator({ backend: createShadowBackend(t.passwd, t.shadow), verifier, combineRealm: true });
  assert.equal((await with_r.authenticate(req('carol', 'carol-pass', 'example.com'))).kind, 'ok');
  assert.equal((await with_r.authenticate(req('alice', 'old-pass', ''))).kind, 'ok');
  assert.equal((await with_r.authenticate(req('alice', 'old-pass', 'example.com'))).kind, 'fail');
  const without = new Authenticator({ backend: createShadowBackend(t.passwd, t.shadow), verifier, combineRealm: false });
  assert.equal((await without.authenticate(req('carol', 'carol-pass', 'example.com'))).kind, 'fail');
});

test('expiry is reported only after the right password', async () => {
  const t = shadowTree();
  const d = today();
  t.setAging('alice', `${d}:0:99999:7::${d - 1}:`);
  t.setAging('bob', `${d - 40}:0:30:7:::`);
  const a = new Authenticator({ backend: createShadowBackend(t.passwd, t.shadow), verifier, combineRealm: false });
  assert.deepEqual(await a.authenticate(req('alice', 'old-pass')), { kind: 'fail', code: 'account_expired', reason: 'account expired' });
  assert.equal((await a.authenticate(req('alice', 'nope'))).kind === 'fail' && 'bad_password', 'bad_password');
  const b = await a.authenticate(req('bob', 'bob-pass'));
  assert.equal(b.kind === 'fail' && b.code, 'password_expired');
});

test('a changed password is never beaten by a cached one; the file change drops the cache', async () => {
  const t = shadowTree();
  const cache = new CredentialCache({ entries: 100, ttlMs: 3_600_000 });
  const a = new Authenticator({ backend: createShadowBackend(t.passwd, t.shadow), verifier, cache, combineRealm: false });
  assert.equal((await a.authenticate(req('alice', 'old-pass'))).kind, 'ok');
  const hit = await a.authenticate(req('alice', 'old-pass'));
  assert.equal(hit.kind === 'ok' && hit.cached, true);
  t.chpasswd('YESCRYPT', [['alice', 'new-pass']]);
  assert.equal((await a.authenticate(req('alice', 'old-pass'))).kind, 'fail');
  assert.equal((await a.authenticate(req('alice', 'new-pass'))).kind, 'ok');
  // and a locked account stops at once, cache or not
  t.setHash('alice', '!' + t.hashOf('alice'));
  assert.equal((await a.authenticate(req('alice', 'new-pass'))).kind, 'fail');
});

test('an unreadable file is a temporary failure, never "no such user", and is not cached', async () => {
  const t = shadowTree();
  const cache = new CredentialCache({ entries: 100, ttlMs: 3_600_000 });
  const a = new Authenticator({ backend: createShadowBackend(t.passwd, t.shadow), verifier, cache, combineRealm: false });
  renameSync(t.shadow, t.shadow + '.away');
  const r = await a.authenticate(req('alice', 'old-pass'));
  assert.equal(r.kind, 'tempfail');
  assert.match(r.kind === 'tempfail' ? r.reason : '', /cannot (stat|read) .*shadow: ENOENT/);
  const missingPasswd = new Authenticator({ backend: createShadowBackend(join(t.etc, 'nope'), t.shadow), verifier, combineRealm: false });
  assert.equal((await missingPasswd.authenticate(req('alice', 'old-pass'))).kind, 'tempfail');
  renameSync(t.shadow + '.away', t.shadow);
  assert.equal((await a.authenticate(req('alice', 'old-pass'))).kind, 'ok');
  // a directory in place of the file (EISDIR) is a temporary failure too
  const dirAsFile = new Authenticator({ backend: createShadowBackend(t.passwd, t.etc), verifier, combineRealm: false });
  assert.equal((await dirAsFile.authenticate(req('alice', 'old-pass'))).kind, 'tempfail');
  chmodSync(t.shadow, 0o600);
});

test('getpwent: the passwd field is the hash; "x" never matches', async () => {
  const dir = tempDir();
  const file = join(dir, 'passwd');
  writeFileSync(file, `dave:${mkpasswd('md5crypt', 'dave-pass')}:1:1::/:/bin/sh\nerin:x:2:2::/:/bin/sh\n`);
  const a = new Authenticator({ backend: createGetpwentBackend(file), verifier, combineRealm: false });
  assert.equal((await a.authenticate(req('dave', 'dave-pass'))).kind, 'ok');
  assert.equal((await a.authenticate(req('erin', 'x'))).kind, 'fail');
});

test('a backend that throws something unexpected yields a temporary failure, not a crash or an OK', async () => {
  const broken: Backend = {
    mech: 'broken',
    lookup(): PasswordRecord {
      throw new TypeError('boom');
    },
  };
  const a = new Authenticator({ backend: broken, verifier, combineRealm: false });
  const r = await a.authenticate(req('a', 'b'));
  assert.equal(r.kind, 'tempfail');
});

test('a login with a challenge field asks the source once, whether the challenge or the plain password answers', async () => {
  let lookups = 0;
  const record: PasswordRecord = { user: 'dave', secret: 'dave-pw', secretIsPlaintext: true, system: false, mayRelay: true };
  const backend: Backend = { mech: 'counting', lookup: () => (lookups++, record) };
  const a = new Authenticator({ backend, verifier, combineRealm: false });
  const ts = Buffer.from('<1.2@pop>');
  const apop = (await import('node:crypto')).createHash('md5').update(`${ts}dave-pw`).digest('hex');
  for (const password of [apop, 'dave-pw', 'wrong']) {
    lookups = 0;
    const r = await a.authenticate({ ...req('dave', password, '', 'pop3'), challenge: ts });
    assert.equal(r.kind, password === 'wrong' ? 'fail' : 'ok', password);
    assert.equal(lookups, 1, `one lookup for ${password}`);
  }
});

/** A verifier that notes every secret it is asked about and gives one answer. */
function recordingVerifier(calls: string[], answer: boolean): Verifier {
  return {
    engine: 'libxcrypt',
    verifyAtOnce: () => undefined,
    async verify(_pw, secret) {
      calls.push(secret);
      return answer;
    },
    async close() {},
  };
}

test('an unknown user is checked against a decoy of the last account seen, and still fails', async () => {
  const calls: string[] = [];
  const verifier = recordingVerifier(calls, true);
  const hash = mkpasswd('sha-512', 'pw');
  const records = new Map<string, PasswordRecord>([['alice', { user: 'alice', secret: hash, secretIsPlaintext: false, system: false, mayRelay: true }]]);
  const backend: Backend = { mech: 'test', lookup: (req) => records.get(req.login), generation: () => 'g' };
  const auth = new Authenticator({ backend, verifier, combineRealm: false });
  const req = (login: string) => ({ login, password: Buffer.from('pw'), service: 'smtp', realm: '' });
  const before = await auth.authenticate(req('mallory'));
  assert.equal(before.kind === 'fail' && before.code, 'no_such_user', 'the verifier said yes, to the decoy: still no such user');
  assert.match(calls[0]!, /^\$6\$/);
  assert.equal((await auth.authenticate(req('alice'))).kind, 'ok');
  const after = await auth.authenticate(req('mallory'));
  assert.equal(after.kind === 'fail' && after.code, 'no_such_user');
  assert.equal(calls.length, 3);
  assert.equal(calls[2], decoyOf(hash, false).secret);
});

test('a locked account neither sets the decoy nor answers faster than a real check', async () => {
  const calls: string[] = [];
  const verifier = recordingVerifier(calls, false);
  const hash = mkpasswd('sha-512', 'pw');
  const records = new Map<string, PasswordRecord>([
    ['alice', { user: 'alice', secret: hash, secretIsPlaintext: false, system: true, mayRelay: true }],
    ['locked', { user: 'locked', secret: '!' + hash, secretIsPlaintext: false, system: true, mayRelay: true }],
    ['star', { user: 'star', secret: '*', secretIsPlaintext: false, system: true, mayRelay: true }],
  ]);
  const backend: Backend = { mech: 'test', lookup: (r) => records.get(r.login), generation: () => 'g' };
  const auth = new Authenticator({ backend, verifier, combineRealm: false });
  const login = (l: string) => auth.authenticate({ login: l, password: Buffer.from('guess'), service: 'smtp', realm: '' });
  await login('alice');
  const decoy = decoyOf(hash, false).secret;
  assert.equal(calls.at(-1), hash);
  for (const l of ['locked', 'star']) {
    const r = await login(l);
    assert.equal(r.kind === 'fail' && r.code, 'bad_password', l);
    assert.equal(calls.at(-1), decoy, `${l} cost a check against the decoy`);
  }
  await login('nobody-here');
  assert.equal(calls.at(-1), decoy, 'the locked accounts did not make the decoy cheap');
});

test('challengeKind: only the response is checked, whatever the service; a mismatch never reaches the verifier', async () => {
  const calls: string[] = [];
  const hexPw = '0123456789abcdef0123456789abcdef';
  const records: Record<string, PasswordRecord> = {
    dave: { user: 'dave', secret: hexPw, secretIsPlaintext: true, system: false, mayRelay: true },
    hashed: { user: 'hashed', secret: '$6$salt$x', secretIsPlaintext: false, system: false, mayRelay: true },
  };
  const a = new Authenticator({ backend: { mech: 'fixed', lookup: (r) => records[r.login] }, verifier: recordingVerifier(calls, true), combineRealm: false });
  const ch = Buffer.from('<9.9@smtp>');
  const right = createHmac('md5', hexPw).update(ch).digest('hex');
  const cram = (login: string, response: string, service: string) => a.authenticate({ ...req(login, response, '', service), challenge: ch, challengeKind: 'cram-md5' });
  for (const service of ['smtp', 'imap', '']) {
    assert.equal((await cram('dave', right, service)).kind, 'ok', service);
    // The clear password itself as the response: a verifier saying yes to anything is never asked.
    assert.deepEqual(await cram('dave', hexPw, service), { kind: 'fail', code: 'bad_password', reason: 'challenge response mismatch' });
    assert.deepEqual(await cram('hashed', right, service), { kind: 'fail', code: 'bad_password', reason: 'challenge response mismatch' });
    assert.deepEqual(await cram('nobody', right, service), { kind: 'fail', code: 'no_such_user', reason: 'no such user' });
  }
  assert.deepEqual(calls, []);
});

test('findAccount: found, missing, or a temporary failure; never the record', async () => {
  const record: PasswordRecord = { user: 'dave', secret: 'dave-pw', secretIsPlaintext: true, system: false, mayRelay: true };
  const seen: string[] = [];
  const a = new Authenticator({ backend: { mech: 'fixed', lookup: (r) => (seen.push(r.login), r.login === 'dave@example.org' ? record : undefined) }, verifier, combineRealm: true });
  assert.deepEqual(await a.findAccount({ login: 'dave', realm: 'example.org', service: 'smtp' }), { kind: 'found' });
  assert.deepEqual(await a.findAccount({ login: 'dave', realm: '', service: 'smtp' }), { kind: 'missing' });
  assert.deepEqual(seen, ['dave@example.org', 'dave']);
  const down = new Authenticator({ backend: { mech: 'down', lookup: () => { throw new TempFail('cannot read'); } }, verifier, combineRealm: false });
  assert.deepEqual(await down.findAccount({ login: 'dave', realm: '', service: 'smtp' }), { kind: 'tempfail', reason: 'cannot read' });
});

test('answerAtOnce: a cached success of a file source, with the files unchanged; never a miss, a change, a challenge or a needed record', async () => {
  const t = shadowTree();
  const cache = new CredentialCache({ entries: 100, ttlMs: 3_600_000 });
  const a = new Authenticator({ backend: createShadowBackend(t.passwd, t.shadow), verifier, cache, combineRealm: false });
  assert.equal(a.answerAtOnce(req('alice', 'old-pass')), undefined, 'nothing cached yet');
  assert.equal((await a.authenticate(req('alice', 'old-pass'))).kind, 'ok');
  assert.deepEqual(a.answerAtOnce(req('alice', 'old-pass')), { kind: 'ok', cached: true });
  assert.equal(a.answerAtOnce(req('alice', 'wrong')), undefined, 'a mismatch is never answered from the cache');
  assert.equal(a.answerAtOnce(req('alice', 'old-pass', '', 'smtp')), undefined, 'entries are per service');
  assert.equal(a.answerAtOnce(req('alice', 'old-pass'), { needRecord: true }), undefined);
  assert.equal(a.answerAtOnce({ ...req('alice', 'old-pass'), challenge: Buffer.from('<1.2@host>') }), undefined);
  assert.equal(a.answerAtOnce({ ...req('alice', 'old-pass'), challengeKind: 'cram-md5' }), undefined);
  t.chpasswd('SHA512', [['alice', 'new-pass']]);
  assert.equal(a.answerAtOnce(req('alice', 'old-pass')), undefined, 'the old password after chpasswd');
  assert.equal((await a.authenticate(req('alice', 'old-pass'))).kind, 'fail');
  // A file that cannot be read: no answer at once; authenticate() words the failure.
  assert.equal((await a.authenticate(req('alice', 'new-pass'))).kind, 'ok');
  renameSync(t.shadow, t.shadow + '.away');
  assert.equal(a.answerAtOnce(req('alice', 'new-pass')), undefined);
  assert.equal((await a.authenticate(req('alice', 'new-pass'))).kind, 'tempfail');
});

test('answerAtOnce: never for a source without a local stamp (SQL asks first, LDAP waits for one), and it tells the source of the login', async () => {
  const record: PasswordRecord = { user: 'alice', secret: mkpasswd('sha-512', 'pw'), secretIsPlaintext: false, system: false, mayRelay: true };
  const logins: string[] = [];
  const sql: Backend = { mech: 'sql', lookup: () => record, recordLogin: (r) => void logins.push(r.login) };
  const cache = new CredentialCache({ entries: 100, ttlMs: 3_600_000 });
  const viaSql = new Authenticator({ backend: sql, verifier, cache: cache.scoped('sql'), combineRealm: false });
  assert.equal((await viaSql.authenticate(req('alice', 'pw'))).kind, 'ok');
  assert.equal(viaSql.answerAtOnce(req('alice', 'pw')), undefined);
  const remote: Backend = { mech: 'ldap', lookup: () => record, generation: async () => 'csn-1' };
  const viaLdap = new Authenticator({ backend: remote, verifier, cache: cache.scoped('ldap'), combineRealm: false });
  assert.equal((await viaLdap.authenticate(req('alice', 'pw'))).kind, 'ok');
  assert.equal(viaLdap.answerAtOnce(req('alice', 'pw')), undefined, 'a stamp that must be asked for');
  // The same source claiming a local stamp but handing a promise anyway is not answered at once either.
  const liar: Backend = { ...remote, generationIsLocal: true };
  const viaLiar = new Authenticator({ backend: liar, verifier, cache: cache.scoped('liar'), combineRealm: false });
  assert.equal((await viaLiar.authenticate(req('alice', 'pw'))).kind, 'ok');
  assert.equal(viaLiar.answerAtOnce(req('alice', 'pw')), undefined);
  const local: Backend = { mech: 'files', lookup: () => record, generation: () => 'g1', generationIsLocal: true, recordLogin: (r) => void logins.push(`files:${r.login}`) };
  const withRealm: Backend = { ...local, lookup: (r) => (r.login === 'alice@example.com' ? record : undefined) };
  const viaRealm = new Authenticator({ backend: withRealm, verifier, cache: cache.scoped('realm'), combineRealm: true });
  assert.equal((await viaRealm.authenticate(req('alice', 'pw', 'example.com'))).kind, 'ok');
  logins.length = 0;
  assert.deepEqual(viaRealm.answerAtOnce(req('alice', 'pw', 'example.com')), { kind: 'ok', cached: true });
  assert.deepEqual(logins, ['files:alice@example.com'], 'the source hears of the login under the name it knows');
});

test('answerAtOnce: a clear password read from a settled sasldb2 (made by saslpasswd2), with or without a cache; never while the file was just written', async () => {
  const file = join(tempDir(), 'sasldb2');
  saslpasswd2(file, [{ user: 'alice', realm: 'example.com', password: Buffer.from('s3cret') }]);
  const cache = new CredentialCache({ entries: 100, ttlMs: 3_600_000 });
  const plain = new Authenticator({ backend: createSasldbBackend(file, 'host'), verifier, combineRealm: false });
  const cached = new Authenticator({ backend: createSasldbBackend(file, 'host'), verifier, cache, combineRealm: false });
  const asked = (a: Authenticator, password: string) => a.answerAtOnce(req('alice', password, 'example.com'));
  await sleep(150);
  const ok = asked(plain, 's3cret');
  assert.equal(ok?.kind === 'ok' && ok.record?.user, 'alice');
  assert.equal(asked(plain, 'S3cret'), undefined, 'a wrong password is left to authenticate(), which charges the failure');
  assert.equal(plain.answerAtOnce(req('nobody', 's3cret', 'example.com')), undefined);
  assert.deepEqual({ ...asked(cached, 's3cret'), record: undefined }, { kind: 'ok', cached: false, record: undefined });
  assert.deepEqual(asked(cached, 's3cret'), { kind: 'ok', cached: true }, 'stored: the next one is a cache hit');
  // saslpasswd2 rewrites the file in place: just after, nothing is answered at once, the cache included.
  saslpasswd2(file, [{ user: 'alice', realm: 'example.com', password: Buffer.from('n3w') }]);
  assert.equal(asked(plain, 'n3w'), undefined);
  assert.equal(asked(cached, 's3cret'), undefined);
  assert.equal((await plain.authenticate(req('alice', 'n3w', 'example.com'))).kind, 'ok', 'authenticate() waits for the file to settle');
  assert.equal(asked(plain, 'n3w')?.kind, 'ok');
  assert.equal(asked(cached, 's3cret'), undefined, 'the old password is not answered from the cache');
});
