import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeNotFound, encodeUser, encodeUserdbFail, encodeUserdbHandshake, parseUserdbLine } from '../../../src/protocol/dovecot-userdb.js';

const parse = (s: string) => parseUserdbLine(Buffer.from(s, 'latin1'));

test('USER: id, user and service; other parameters ignored; escapes undone', () => {
  assert.deepEqual(parse('USER\t7\tcarol@example.org\tservice=smtp\tlip=127.0.0.1'), { kind: 'user', cmd: { id: '7', user: 'carol@example.org', service: 'smtp' } });
  assert.deepEqual(parse('USER\t0\ta\x01tb'), { kind: 'user', cmd: { id: '0', user: 'a\tb', service: undefined } });
  assert.deepEqual(parse('VERSION\t1\t1'), { kind: 'version', major: 1 });
});

test('anything else is a breach', () => {
  for (const l of ['USER', 'USER\t1', 'USER\t1\t', 'USER\t01\tcarol', 'USER\t4294967296\tcarol', 'USER\tx\tcarol', 'VERSION\t1', 'PASS\t1\tcarol', 'AUTH\t1\tPLAIN', '', 'USER\t1\tca\x01Xrol']) {
    assert.equal(parse(l).kind, 'bad', JSON.stringify(l));
  }
});

test('replies: the name escaped, never more than id and name', () => {
  assert.equal(encodeUserdbHandshake(42).toString(), 'VERSION\t1\t1\nSPID\t42\n');
  assert.equal(encodeUser('3', 'a\tb\nc').toString('latin1'), 'USER\t3\ta\x01tb\x01nc\n');
  assert.equal(encodeNotFound('4').toString(), 'NOTFOUND\t4\n');
  assert.equal(encodeUserdbFail('5').toString(), 'FAIL\t5\n');
});
