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

// A waiting verification is dropped when its client leaves; one handed to libuv's pool runs to its end.
// So the number that survive an abort right after they are asked is the number handed to the pool.
test('libxcrypt is handed twice -n, but only -n when its pool is larger (the first of several serving processes)', async () => {
  const hash = mkpasswd('sha512crypt', 'secret');
  const handed = async (poolThreads: number | undefined) => {
    const v = createVerifier({ engine: 'libxcrypt', concurrency: 2, poolThreads });
    const ac = new AbortController();
    const runs = Array.from({ length: 7 }, () => v.verify(pw('secret'), hash, false, ac.signal));
    ac.abort();
    const settled = await Promise.allSettled(runs);
    await v.close();
    for (const s of settled) if (s.status === 'rejected') assert.equal((s.reason as Error).name, 'Abandoned');
    return settled.filter((s) => s.status === 'fulfilled' && s.value === true).length;
  };
  assert.equal(await handed(undefined), 4);
  assert.equal(await handed(2), 4);
  assert.equal(await handed(8), 2);
});
