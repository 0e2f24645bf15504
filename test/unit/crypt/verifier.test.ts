import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TempFail } from '../../../src/errors.js';
import { createVerifier } from '../../../src/crypt/verifier.js';
import { mkpasswd } from '../../helpers/fixtures.js';

const pw = (s: string) => Buffer.from(s, 'utf8');

// One hash per method mkpasswd (libxcrypt) can make, every one a modern system may hold.
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
