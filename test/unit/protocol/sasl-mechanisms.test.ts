import assert from 'node:assert/strict';
import { test } from 'node:test';
import { continueMechanism, startMechanism, type MechStep } from '../../../src/protocol/sasl-mechanisms.js';

const b = (s: string) => Buffer.from(s, 'latin1');
const creds = (st: MechStep) => (st.kind === 'credentials' ? [st.login.toString('latin1'), st.password.toString('latin1')] : st.kind === 'refused' ? `refused: ${st.why}` : 'challenge');

test('PLAIN with an initial response gives the credentials at once; an authzid equal to the login is fine', () => {
  assert.deepEqual(creds(startMechanism('PLAIN', b('\0alice\0secret'))), ['alice', 'secret']);
  assert.deepEqual(creds(startMechanism('PLAIN', b('alice\0alice\0secret'))), ['alice', 'secret']);
});

test('PLAIN without an initial response (or an empty one) asks with an empty challenge', () => {
  for (const initial of [undefined, Buffer.alloc(0)]) {
    const st = startMechanism('PLAIN', initial);
    assert.equal(st.kind, 'challenge');
    if (st.kind !== 'challenge') return;
    assert.equal(st.challenge.length, 0);
    assert.deepEqual(creds(continueMechanism(st.state, b('\0bob\0pw'))), ['bob', 'pw']);
  }
});

test('PLAIN asking to act as another user is refused, with the login it came with', () => {
  const st = startMechanism('PLAIN', b('root\0alice\0secret'));
  assert.equal(st.kind, 'refused');
  assert.ok(st.kind === 'refused' && st.login?.toString() === 'alice' && /authorization identity/.test(st.why));
});

test('PLAIN: empty login or password, a missing separator or a NUL inside the password is refused', () => {
  for (const data of ['\0\0pw', '\0alice\0', 'alice', '\0alice', '\0alice\0pw\0more', '']) {
    const st = data === '' ? continueMechanism({ mech: 'PLAIN' }, b(data)) : startMechanism('PLAIN', b(data));
    assert.equal(st.kind, 'refused', JSON.stringify(data));
  }
});

test('LOGIN: "Username:", then "Password:", then the credentials', () => {
  const first = startMechanism('LOGIN', undefined);
  assert.ok(first.kind === 'challenge' && first.challenge.toString() === 'Username:');
  if (first.kind !== 'challenge') return;
  const second = continueMechanism(first.state, b('carol'));
  assert.ok(second.kind === 'challenge' && second.challenge.toString() === 'Password:');
  if (second.kind !== 'challenge') return;
  assert.deepEqual(creds(continueMechanism(second.state, b('carol-pw'))), ['carol', 'carol-pw']);
  // The user as an initial response skips the first round.
  const direct = startMechanism('LOGIN', b('carol'));
  assert.ok(direct.kind === 'challenge' && direct.challenge.toString() === 'Password:');
  assert.equal(startMechanism('LOGIN', Buffer.alloc(0)).kind, 'challenge');
});

test('LOGIN: an empty or NUL-holding login or password is refused', () => {
  const first = startMechanism('LOGIN', undefined);
  if (first.kind !== 'challenge') throw new Error('no challenge');
  assert.match(String(creds(continueMechanism(first.state, Buffer.alloc(0)))), /refused: empty login/);
  assert.match(String(creds(continueMechanism(first.state, b('alice\0x')))), /refused: NUL byte in the login/);
  const second = continueMechanism(first.state, b('alice'));
  if (second.kind !== 'challenge') throw new Error('no challenge');
  const empty = continueMechanism(second.state, Buffer.alloc(0));
  assert.ok(empty.kind === 'refused' && empty.why === 'empty password' && empty.login?.toString() === 'alice');
  assert.match(String(creds(continueMechanism(second.state, b('pw\0tail')))), /refused: NUL byte in the password/);
});

test('CRAM-MD5: the challenge given, then user SP digest as the credentials with that challenge', () => {
  const ch = Buffer.from('<1.2@host>');
  const first = startMechanism('CRAM-MD5', undefined, ch);
  assert.deepEqual(first, { kind: 'challenge', challenge: ch, state: { mech: 'CRAM-MD5', challenge: ch } });
  assert.equal(first.kind, 'challenge');
  if (first.kind !== 'challenge') return;
  const hex = 'ABCDEF0123456789abcdef0123456789';
  assert.deepEqual(continueMechanism(first.state, Buffer.from(`a user ${hex}`)), { kind: 'credentials', login: Buffer.from('a user'), password: Buffer.from(hex), challenge: ch });
  assert.deepEqual(startMechanism('CRAM-MD5', Buffer.alloc(0), ch).kind, 'challenge');
});

test('CRAM-MD5: an initial response, no challenge, no space, a short or non-hex digest, an empty or NUL login are refused', () => {
  const ch = Buffer.from('<1.2@host>');
  assert.equal(startMechanism('CRAM-MD5', Buffer.from('x'), ch).kind, 'refused');
  assert.equal(startMechanism('CRAM-MD5', undefined).kind, 'refused');
  const state = { mech: 'CRAM-MD5', challenge: ch } as const;
  for (const r of ['dave', `dave ${'0'.repeat(31)}`, `dave ${'g'.repeat(32)}`, `dave ${'0'.repeat(33)}`, ` ${'0'.repeat(32)}`, `da\0ve ${'0'.repeat(32)}`]) {
    assert.equal(continueMechanism(state, Buffer.from(r)).kind, 'refused', JSON.stringify(r));
  }
});
