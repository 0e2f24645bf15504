import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TempFail } from '../../../src/errors.js';
import { loadLibXCrypt } from '../../../src/crypt/libxcrypt.js';
import { parseStoredSecret } from '../../../src/crypt/schemes.js';
import { createVerifier } from '../../../src/crypt/verifier.js';
import { mkpasswd } from '../../helpers/fixtures.js';
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
  await assert.rejects(v.verify(pw('secret'), '{SSHA}abcd', false), TempFail);
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
