import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Authenticator } from '../../../src/auth/authenticator.js';
import type { Backend, PasswordRecord } from '../../../src/auth/types.js';
import { loadLibXCrypt } from '../../../src/crypt/libxcrypt.js';
import { decoyOf, defaultDecoy } from '../../../src/crypt/schemes.js';
import type { Verifier } from '../../../src/crypt/verifier.js';
import { mkpasswd } from '../../helpers/fixtures.js';

const KINDS = ['yescrypt', 'sha-512', 'sha-256', 'md5', 'bcrypt', 'descrypt', 'bsdicrypt'];

test('a decoy keeps scheme, cost and salt, and never matches, for every hash libxcrypt makes', async () => {
  const lib = loadLibXCrypt();
  for (const kind of KINDS) {
    const hash = mkpasswd(kind, 'right-pw');
    const { secret, isPlaintext } = decoyOf(hash, false);
    assert.equal(isPlaintext, false);
    assert.equal(secret.length, hash.length, kind);
    assert.notEqual(secret, hash, kind);
    // libxcrypt reads the same setting from both: the decoy costs what the hash costs.
    assert.equal(lib.cryptSync(Buffer.from('x'), secret)?.slice(0, 12), lib.cryptSync(Buffer.from('x'), hash)?.slice(0, 12), kind);
    assert.equal(await lib.verify(Buffer.from('right-pw'), hash), true, kind);
    assert.equal(await lib.verify(Buffer.from('right-pw'), secret), false, kind);
  }
  assert.equal(decoyOf('{SHA512-CRYPT}$6$abcdefgh$' + 'x'.repeat(86), false).secret, '{SHA512-CRYPT}$6$abcdefgh$' + '.'.repeat(86));
  assert.equal(decoyOf('!', false).secret, '!');
  assert.equal(decoyOf('plain', true).secret, '\0');
  assert.match(defaultDecoy().secret, /^\$6\$[./0-9A-Za-z]{16}\$\.{86}$/);
  assert.equal(await lib.verify(Buffer.from(''), defaultDecoy().secret), false);
});

test('an unknown user is checked against a decoy of the last account seen, and still fails', async () => {
  const calls: string[] = [];
  const verifier: Verifier = {
    engine: 'libxcrypt',
    async verify(_pw, secret) {
      calls.push(secret);
      return true;
    },
    async close() {},
  };
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
