import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TempFail } from '../../../src/errors.js';
import { loadLibXCrypt } from '../../../src/crypt/libxcrypt.js';
import { parseStoredSecret } from '../../../src/crypt/schemes.js';
import { createVerifier } from '../../../src/crypt/verifier.js';
import { mkpasswd } from '../../helpers/fixtures.js';
import { slappasswd } from '../../helpers/slapd.js';
import { decoyOf, defaultDecoy } from '../../../src/crypt/schemes.js';

const pw = (s: string) => Buffer.from(s, 'utf8');

// One hash per method mkpasswd (libxcrypt) can make, every one a modern system may hold.
const KINDS = ['yescrypt', 'sha-512', 'sha-256', 'md5', 'bcrypt', 'descrypt', 'bsdicrypt'];

test('{SCHEME} prefixes: CRYPT family stripped, PLAIN compared, unknown ones are a temporary failure', async () => {
  const v = createVerifier({ engine: 'libxcrypt', concurrency: 1 });
  const h = mkpasswd('sha512crypt', 'secret');
  assert.equal(await v.verify(pw('secret'), `{CRYPT}${h}`, false), true);
  assert.equal(await v.verify(pw('secret'), `{sha512-crypt}${h}`, false), true);
  assert.equal(await v.verify(pw('secret'), '{PLAIN}secret', false), true);
  assert.equal(await v.verify(pw('secreT'), '{CLEAR}secret', false), false);
  assert.equal(await v.verify(pw('secret'), 'secret', true), true);
  assert.equal(await v.verify(pw('secret'), 'secret2', true), false);
  await assert.rejects(v.verify(pw('secret'), '{ARGON2}abcd', false), TempFail);
  assert.deepEqual(parseStoredSecret('{crypt}$1$x$y', false), { kind: 'crypt', hash: '$1$x$y' });
  await v.close();
});

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

test('LDAP digests as slappasswd writes them: {SSHA} {SHA} {SMD5} {MD5} {SSHA256} {SHA512} ..., scheme in any case', async () => {
  const v = createVerifier({ engine: 'libxcrypt', concurrency: 1 });
  for (const scheme of ['{SSHA}', '{SHA}', '{SMD5}', '{MD5}', '{SSHA256}', '{SHA256}', '{SSHA512}', '{SHA512}']) {
    const stored = slappasswd(scheme, 'pässwörd');
    assert.equal(await v.verify(pw('pässwörd'), stored, false), true, stored);
    assert.equal(await v.verify(pw('pässwörD'), stored, false), false, stored);
    assert.equal(await v.verify(pw(''), stored, false), false, stored);
    assert.equal(await v.verify(pw('pässwörd'), stored.replace(/^\{(\w+)\}/, (_, s: string) => `{${s.toLowerCase()}}`), false), true, stored);
    // The decoy costs the same computation and never matches.
    const decoy = decoyOf(stored, false).secret;
    assert.equal(decoy.length, stored.length, stored);
    assert.notEqual(decoy, stored);
    assert.equal(await v.verify(pw('pässwörd'), decoy, false), false, stored);
  }
  // {CRYPT} and saslauthd's {UNIX} go to crypt(3).
  const crypt = slappasswd('{CRYPT}', 'pässwörd');
  assert.equal(await v.verify(pw('pässwörd'), crypt, false), true);
  assert.equal(await v.verify(pw('pässwörd'), crypt.replace('{CRYPT}', '{UNIX}'), false), true);
  v.close();
});

test('an LDAP digest that does not decode to one matches nothing, the empty password included', async () => {
  const v = createVerifier({ engine: 'libxcrypt', concurrency: 1 });
  const sha = slappasswd('{SHA}', 'x');
  for (const bad of ['{SHA}', '{SSHA}', '{SHA}not base64!', `${sha}AA==`, sha.slice(0, -4), '{SSHA}' + Buffer.alloc(20).toString('base64'), '{MD5}' + '='.repeat(24)]) {
    assert.equal(parseStoredSecret(bad, false).kind, 'malformed', bad);
    assert.equal(await v.verify(pw('x'), bad, false), false, bad);
    assert.equal(await v.verify(pw(''), bad, false), false, bad);
  }
  v.close();
});
