import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadLibXCrypt } from '../../../src/crypt/libxcrypt.js';
import { createVerifier } from '../../../src/crypt/verifier.js';
import { mkpasswd } from '../../helpers/fixtures.js';

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

test('libxcrypt binding round-trips settings with rounds and long salts', () => {
  const lib = loadLibXCrypt();
  const h = lib.cryptSync(pw('Hello world!'), '$5$rounds=10000$saltstringsaltstring');
  // Drepper's published test vector
  assert.equal(h, '$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA');
  assert.equal(lib.cryptSync(pw('x'), '$unknown$'), undefined);
});
