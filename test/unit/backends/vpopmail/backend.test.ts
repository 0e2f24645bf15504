import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Authenticator } from '../../../../src/auth/authenticator.js';
import { CredentialCache } from '../../../../src/auth/cache.js';
import { createVerifier } from '../../../../src/crypt/verifier.js';
import { mkpasswd } from '../../../helpers/fixtures.js';
import type { AuthRequest, Backend, PasswordRecord } from '../../../../src/auth/types.js';
import { TempFail } from '../../../../src/errors.js';

/** A source without a change signal whose answers the test controls, down to failing. */
class ScriptedSource implements Backend {
  readonly mech = 'scripted';
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
