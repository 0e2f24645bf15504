import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import { CredentialCache } from '../../../src/auth/cache.js';
import { AuthChain } from '../../../src/auth/chain.js';
import type { AuthRequest, Backend, PasswordRecord } from '../../../src/auth/types.js';
import { decoyOf } from '../../../src/crypt/schemes.js';
import { createVerifier, type Verifier } from '../../../src/crypt/verifier.js';
import { TempFail } from '../../../src/errors.js';
import { mkpasswd } from '../../helpers/fixtures.js';

const verifier = createVerifier({ engine: 'libxcrypt', concurrency: 2 });
const req = (login: string, password: string, service = 'imap'): AuthRequest => ({ login, password: Buffer.from(password), service, realm: '' });
const plain = (user: string, secret: string, more: Partial<PasswordRecord> = {}): PasswordRecord => ({ user, secret, secretIsPlaintext: true, system: false, mayRelay: true, ...more });

/** A file-like source: its users change under a generation the cache reads, and it counts its lookups. */
class FakeSource implements Backend {
  lookups = 0;
  down = false;
  private version = 0;
  private readonly users = new Map<string, PasswordRecord>();
  constructor(readonly mech: string, records: readonly PasswordRecord[] = [], private readonly stamped = true) {
    for (const r of records) this.users.set(r.user, r);
  }
  lookup(r: { login: string }): PasswordRecord | undefined {
    this.lookups++;
    if (this.down) throw new TempFail(`${this.mech} cannot be read`);
    return this.users.get(r.login);
  }
  get generation(): (() => string) | undefined {
    return this.stamped ? () => String(this.version) : undefined;
  }
  set(record: PasswordRecord): void {
    this.users.set(record.user, record);
    this.version++;
  }
}

/** A verifier that notes every secret it is asked about; plaintext answers truly, hashes never match. */
function recordingVerifier(calls: string[]): Verifier {
  return {
    engine: 'libxcrypt',
    verifyAtOnce: () => undefined,
    async verify(pw, secret, isPlaintext) {
      calls.push(secret);
      return isPlaintext && pw.toString('latin1') === secret;
    },
    async close() {},
  };
}

test('the first mechanism that knows the user decides; only "no such user" moves on', async () => {
  const first = new FakeSource('shadow', [plain('alice', 'alice-1'), plain('both', 'both-1')]);
  const second = new FakeSource('sasldb', [plain('bob', 'bob-2'), plain('both', 'both-2')]);
  const chain = new AuthChain({ backends: [first, second], verifier, combineRealm: false });
  const decided = async (login: string, pw: string) => {
    const r = await chain.authenticate(req(login, pw));
    return `${r.mech}:${r.kind === 'fail' ? r.code : r.kind}`;
  };
  assert.equal(await decided('alice', 'alice-1'), 'shadow:ok');
  assert.equal(await decided('alice', 'wrong'), 'shadow:bad_password');
  assert.equal(await decided('bob', 'bob-2'), 'sasldb:ok');
  assert.equal(await decided('bob', 'wrong'), 'sasldb:bad_password');
  assert.equal(await decided('both', 'both-1'), 'shadow:ok');
  // A wrong password in the first is final, even when it is the second's right password.
  assert.equal(await decided('both', 'both-2'), 'shadow:bad_password');
  assert.equal(await decided('nobody', 'x'), 'sasldb:no_such_user', 'unknown everywhere: the last mechanism answers');
  assert.equal(chain.name, 'shadow,sasldb');
});

test('a temporary failure of the first is the answer, even for a user the second knows; the second is not asked', async () => {
  const first = new FakeSource('shadow', [plain('alice', 'alice-1')]);
  const second = new FakeSource('sasldb', [plain('bob', 'bob-2')]);
  const cache = new CredentialCache({ entries: 10, ttlMs: 60_000 });
  const chain = new AuthChain({ backends: [first, second], verifier, cache, combineRealm: false });
  assert.equal((await chain.authenticate(req('bob', 'bob-2'))).kind, 'ok');
  first.down = true;
  second.lookups = 0;
  const r = await chain.authenticate(req('bob', 'bob-2'));
  assert.deepEqual(r, { kind: 'tempfail', reason: 'shadow cannot be read', mech: 'shadow' });
  assert.equal(second.lookups, 0);
  // Nor does a source without a change signal (SQL) answer from the cache while an earlier one is down.
  const sql = new FakeSource('vpopmail', [plain('carol', 'carol-2')], false);
  const chain2 = new AuthChain({ backends: [first, sql], verifier, cache: new CredentialCache({ entries: 10, ttlMs: 60_000 }), combineRealm: false });
  first.down = false;
  assert.equal((await chain2.authenticate(req('carol', 'carol-2'))).kind, 'ok');
  first.down = true;
  assert.equal((await chain2.authenticate(req('carol', 'carol-2'))).kind, 'tempfail');
});

test('expired accounts and disabled services are final; a stale success answers only for its own mechanism', async () => {
  const first = new FakeSource('vpopmail', [plain('exp', 'pw', { policy: () => 'account_expired' }), plain('svc', 'pw', { policy: () => 'service_disabled' })], false);
  const second = new FakeSource('sasldb', [plain('exp', 'pw'), plain('svc', 'pw')]);
  const chain = new AuthChain({ backends: [first, second], verifier, cache: new CredentialCache({ entries: 10, ttlMs: 60_000 }), combineRealm: false });
  assert.deepEqual(await chain.authenticate(req('exp', 'pw')), { kind: 'fail', code: 'account_expired', reason: 'account expired', mech: 'vpopmail' });
  assert.deepEqual(await chain.authenticate(req('svc', 'pw')), { kind: 'fail', code: 'service_disabled', reason: 'service disabled', mech: 'vpopmail' });
  const sqlFirst = new FakeSource('vpopmail', [plain('dora', 'dora-pw')], false);
  const chain2 = new AuthChain({ backends: [sqlFirst, second], verifier, cache: new CredentialCache({ entries: 10, ttlMs: 60_000 }), combineRealm: false });
  assert.equal((await chain2.authenticate(req('dora', 'dora-pw'))).kind, 'ok');
  sqlFirst.down = true;
  const stale = await chain2.authenticate(req('dora', 'dora-pw'));
  assert.ok(stale.kind === 'ok' && stale.stale && stale.mech === 'vpopmail');
});

test('one decoy check for an unknown user, none for a user found in the second; the decoy is learnt from every mechanism', async () => {
  const calls: string[] = [];
  const hash = mkpasswd('sha-512', 'alice-pw');
  const first = new FakeSource('shadow', [{ user: 'alice', secret: hash, secretIsPlaintext: false, system: true, mayRelay: true }]);
  const second = new FakeSource('sasldb', [plain('bob', 'bob-2')]);
  const third = new FakeSource('other', []);
  const chain = new AuthChain({ backends: [first, second, third], verifier: recordingVerifier(calls), combineRealm: false });
  const cost = async (login: string, pw: string) => {
    calls.length = 0;
    await chain.authenticate(req(login, pw));
    return [...calls];
  };
  assert.equal((await cost('nobody', 'x')).length, 1, 'unknown in three mechanisms: one check');
  assert.deepEqual(await cost('bob', 'wrong'), ['bob-2'], 'found in the second: its own check only');
  assert.deepEqual(await cost('bob', 'bob-2'), ['bob-2']);
  assert.deepEqual(await cost('alice', 'guess'), [hash]);
  // The first mechanism's hash is now the decoy, though the last mechanism spends it.
  assert.deepEqual(await cost('nobody', 'x'), [decoyOf(hash, false).secret]);
  // A plaintext account seen later in the chain does not make the decoy cheap.
  await cost('bob', 'bob-2');
  assert.deepEqual(await cost('nobody', 'x'), [decoyOf(hash, false).secret]);
});

test('a user the second mechanism answered from the cache goes to the first once the first knows them', async () => {
  const first = new FakeSource('shadow', []);
  const second = new FakeSource('sasldb', [plain('bob', 'bob-2')]);
  const chain = new AuthChain({ backends: [first, second], verifier, cache: new CredentialCache({ entries: 10, ttlMs: 60_000 }), combineRealm: false });
  assert.equal((await chain.authenticate(req('bob', 'bob-2'))).kind, 'ok');
  const hit = await chain.authenticate(req('bob', 'bob-2'));
  assert.ok(hit.kind === 'ok' && hit.cached && hit.mech === 'sasldb', 'the first mechanism asked first does not spoil the second one\'s entry');
  assert.equal(first.lookups, 2, 'the first mechanism is asked every time');
  first.set(plain('bob', 'bob-1'));
  assert.deepEqual(await chain.authenticate(req('bob', 'bob-2')), { kind: 'fail', code: 'bad_password', reason: 'password mismatch', mech: 'shadow' });
  assert.equal((await chain.authenticate(req('bob', 'bob-1'))).mech, 'shadow');
});

test('any "no such user" moves the chain on, whatever produced it: here a challenge-only login (no lookup of a password)', async () => {
  const hexPw = '0123456789abcdef';
  const first = new FakeSource('sasldb', []);
  const second = new FakeSource('vpopmail', [plain('dave', hexPw)], false);
  const chain = new AuthChain({ backends: [first, second], verifier, combineRealm: false });
  const ch = Buffer.from('<1.2@smtp>');
  const response = createHmac('md5', hexPw).update(ch).digest('hex');
  const r = await chain.authenticate({ ...req('dave', response, 'smtp'), challenge: ch, challengeKind: 'cram-md5' });
  assert.deepEqual([r.kind, r.mech], ['ok', 'vpopmail']);
});

test('a single mechanism answers exactly as its authenticator, with the mechanism named', async () => {
  const only = new FakeSource('sasldb', [plain('bob', 'bob-2')]);
  const chain = new AuthChain({ backends: [only], verifier, combineRealm: false });
  assert.deepEqual(await chain.authenticate(req('bob', 'nope')), { kind: 'fail', code: 'bad_password', reason: 'password mismatch', mech: 'sasldb' });
  assert.deepEqual(await chain.authenticate(req('eve', 'nope')), { kind: 'fail', code: 'no_such_user', reason: 'no such user', mech: 'sasldb' });
  assert.throws(() => new AuthChain({ backends: [], verifier, combineRealm: false }), /at least one/);
});

test('findAccount goes down the chain the same way: found or a temporary failure stops it', async () => {
  const first = new FakeSource('shadow', [plain('alice', 'x')]);
  const second = new FakeSource('sasldb', [plain('bob', 'y')]);
  const chain = new AuthChain({ backends: [first, second], verifier, combineRealm: false });
  const find = (login: string) => chain.findAccount({ login, realm: '', service: 'smtp' });
  assert.deepEqual(await find('alice'), { kind: 'found', mech: 'shadow' });
  assert.deepEqual(await find('bob'), { kind: 'found', mech: 'sasldb' });
  assert.deepEqual(await find('nobody'), { kind: 'missing', mech: 'sasldb' });
  first.down = true;
  assert.deepEqual(await find('bob'), { kind: 'tempfail', reason: 'shadow cannot be read', mech: 'shadow' });
});

test('check() gives each source\'s line and fails when one cannot serve; close() closes them all', async () => {
  const closed: string[] = [];
  const ok: Backend = { mech: 'a', lookup: () => undefined, check: () => 'a ready', close: () => void closed.push('a') };
  const quiet: Backend = { mech: 'b', lookup: () => undefined, close: () => void closed.push('b') };
  const broken: Backend = { mech: 'c', lookup: () => undefined, check: () => { throw new TempFail('c is down'); } };
  assert.deepEqual(new AuthChain({ backends: [ok, quiet], verifier, combineRealm: false }).check(), ['a ready']);
  assert.throws(() => new AuthChain({ backends: [ok, broken], verifier, combineRealm: false }).check(), /c is down/);
  await new AuthChain({ backends: [ok, quiet], verifier, combineRealm: false }).close();
  assert.deepEqual(closed, ['a', 'b']);
});
