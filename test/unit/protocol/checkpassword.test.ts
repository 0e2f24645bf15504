import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseFd3Input } from '../../../src/protocol/checkpassword.js';

const b = (s: string) => Buffer.from(s, 'latin1');

test('fd 3: login, password, timestamp; misuse below two fields or above 512 bytes', () => {
  assert.deepEqual(parseFd3Input(b('alice\0pw\0<1.2@host>\0')), { kind: 'input', login: b('alice'), password: b('pw'), timestamp: b('<1.2@host>') });
  assert.deepEqual(parseFd3Input(b('alice\0pw\0')), { kind: 'input', login: b('alice'), password: b('pw'), timestamp: b('') });
  assert.deepEqual(parseFd3Input(b('alice\0pw\0ts\0more\0stuff')).kind, 'input', 'extra fields are allowed');
  assert.deepEqual(parseFd3Input(b('\0\0')), { kind: 'input', login: b(''), password: b(''), timestamp: b('') });
  for (const bad of ['', 'alice', 'alice\0pw', 'alice\0']) assert.equal(parseFd3Input(b(bad)).kind, 'misuse', JSON.stringify(bad));
  assert.equal(parseFd3Input(Buffer.alloc(512, 0)).kind, 'input');
  assert.equal(parseFd3Input(Buffer.alloc(513, 0)).kind, 'misuse');
});
