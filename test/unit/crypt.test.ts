import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TempFail } from '../../src/errors.js';
import { loadLibXCrypt } from '../../src/crypt/libxcrypt.js';
import { parseStoredSecret } from '../../src/crypt/schemes.js';
import { createVerifier } from '../../src/crypt/verifier.js';
import { mkpasswd } from '../helpers/fixtures.js';

const pw = (s: string) => Buffer.from(s, 'utf8');

// One hash per method mkpasswd (libxcrypt) can make, every one a modern system may hold.
const METHODS = ['yescrypt', 'gost-yescrypt', 'scrypt', 'bcrypt', 'bcrypt-a', 'sha512crypt', 'sha256crypt', 'md5crypt', 'descrypt', 'bsdicrypt'];

test('libxcrypt verifies every hash mkpasswd makes, and rejects the wrong password', async () => {
  const v = createVerifier({ engine: 'libxcrypt', concurrency: 2 });
  assert.equal(v.engine, 'libxcrypt');
  for (const m of METHODS) {
    const password = m === 'descrypt' ? 'pässwö' : 'pässwörd €';
    const hash = mkpasswd(m, password);
    assert.equal(await v.verify(pw(password), hash, false), true, `${m} ${hash}`);
    assert.equal(await v.verify(pw(password + 'x'), hash, false), m === 'descrypt' ? true : false, `${m} wrong`);
    assert.equal(await v.verify(pw('Passwörd €'), hash, false), false, `${m} other`);
  }
  await v.close();
});

test('locked, disabled and empty hashes never verify, whatever the password', async () => {
  const v = createVerifier({ engine: 'libxcrypt', concurrency: 1 });
  const good = mkpasswd('sha512crypt', 'secret');
  for (const stored of ['!' + good, '*', '!', '!!', '', '*LK*', 'x', '*NP*']) {
    assert.equal(await v.verify(pw('secret'), stored, false), false, JSON.stringify(stored));
    assert.equal(await v.verify(pw(''), stored, false), false, JSON.stringify(stored));
  }
  await v.close();
});

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

test('the JS fallback verifies what libxcrypt made, and says when it cannot', async () => {
  const js = createVerifier({ engine: 'js', concurrency: 2 });
  assert.equal(js.engine, 'js');
  for (const m of ['bcrypt', 'sha512crypt', 'sha256crypt', 'md5crypt', 'descrypt']) {
    const hash = mkpasswd(m, 'pässwö');
    assert.equal(await js.verify(pw('pässwö'), hash, false), true, m);
    assert.equal(await js.verify(pw('passwo'), hash, false), false, m);
  }
  await assert.rejects(js.verify(pw('x'), mkpasswd('yescrypt', 'x'), false), TempFail);
  assert.equal(await js.verify(pw('x'), 'x', false), false);
  assert.equal(await js.verify(pw('x'), '!', false), false);
  await js.close();
});

test('libxcrypt binding round-trips settings with rounds and long salts', () => {
  const lib = loadLibXCrypt();
  const h = lib.cryptSync(pw('Hello world!'), '$5$rounds=10000$saltstringsaltstring');
  // Drepper's published test vector
  assert.equal(h, '$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA');
  assert.equal(lib.cryptSync(pw('x'), '$unknown$'), undefined);
});
