import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeOutcome, decodeQuestion, encodeOutcome, encodeQuestion } from '../../../../src/backends/pam/wire.js';

test('a question crosses with every byte of login and password intact, one line', () => {
  const q = { service: Buffer.from('smtp'), user: Buffer.from([0xe9, 0x0a, 0x22]), password: Buffer.from('p\nw"\\\xff', 'latin1'), rhost: '2001:db8::1' };
  const line = encodeQuestion(7, q);
  assert.equal(line.indexOf('\n'), line.length - 1);
  const back = decodeQuestion(line.trimEnd());
  assert.equal(back.id, 7);
  assert.deepEqual(back.question, q);
});

test('outcomes round-trip; a malformed line is refused', () => {
  const o = { stage: 'acct_mgmt' as const, rc: 13, text: 'User account has expired', delayUs: 0 };
  assert.deepEqual(decodeOutcome(encodeOutcome(3, o).trimEnd()), { id: 3, outcome: o });
  assert.throws(() => decodeOutcome('{"id":1,"stage":"done","rc":"0","text":"","delayUs":0}'));
  assert.throws(() => decodeOutcome('{"id":1,"stage":"elsewhere","rc":0,"text":"","delayUs":0}'));
  assert.throws(() => decodeQuestion('{"id":1,"service":"c210cA==","user":5}'));
});
