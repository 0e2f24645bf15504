import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Decoy } from '../../../src/auth/decoy.js';
import type { PasswordRecord } from '../../../src/auth/types.js';
import { Abandoned } from '../../../src/work-queue.js';
import { decoyOf } from '../../../src/crypt/schemes.js';
import type { Verifier } from '../../../src/crypt/verifier.js';
import { mkpasswd } from '../../helpers/fixtures.js';

const record = (secret: string, secretIsPlaintext = false): PasswordRecord => ({ user: 'u', secret, secretIsPlaintext, system: false, mayRelay: true });

/** Notes the secret each check is made against; fails the way it is told to. */
function verifierThat(calls: string[], fail?: Error): Verifier {
  return {
    engine: 'libxcrypt',
    verifyAtOnce: () => undefined,
    async verify(_pw, secret) {
      calls.push(secret);
      if (fail) throw fail;
      return true;
    },
    async close() {},
  };
}

test('the decoy follows the accounts seen, but a locked one never, and a plaintext one never replaces a hash', async () => {
  const calls: string[] = [];
  const v = verifierThat(calls);
  const d = new Decoy();
  const pw = Buffer.from('guess');
  await d.spend(v, pw, {});
  assert.match(calls.at(-1)!, /^\$6\$/, 'before any account: a SHA-512 setting');
  d.learn(record('plain-pw', true));
  await d.spend(v, pw, {});
  assert.equal(calls.at(-1), decoyOf('plain-pw', true).secret, 'a plaintext source alone: plaintext');
  const hash = mkpasswd('sha-256', 'pw');
  d.learn(record(hash));
  d.learn(record('other-pw', true));
  d.learn(record('!' + hash));
  d.learn(record('*'));
  await d.spend(v, pw, {});
  assert.equal(calls.at(-1), decoyOf(hash, false).secret);
});

test('spending ignores the verifier\'s failures, except a client that left', async () => {
  const d = new Decoy();
  await d.spend(verifierThat([], new Error('bad setting')), Buffer.from('x'), {});
  await assert.rejects(d.spend(verifierThat([], new Abandoned('client gone')), Buffer.from('x'), {}), Abandoned);
});
