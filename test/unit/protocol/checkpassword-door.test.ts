import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeDoorReply, decodeDoorRequest, encodeDoorReply, encodeDoorRequest } from '../../../src/protocol/checkpassword-door.js';

const b = (s: string) => Buffer.from(s, 'latin1');

test('daemon door codec: round trip, partial input, malformed replies', () => {
  const req = { login: b('alice'), password: b('p\x01w'), service: b('pop3'), realm: b(''), clientAddr: b('192.0.2.1'), timestamp: b('<1@h>') };
  const wire = encodeDoorRequest(req);
  assert.deepEqual(decodeDoorRequest(wire), { kind: 'request', request: req });
  for (let i = 0; i < wire.length; i++) assert.equal(decodeDoorRequest(wire.subarray(0, i)).kind, 'incomplete');
  assert.equal(decodeDoorRequest(Buffer.from([0x01, 0x01])).kind, 'reject', 'a 257-byte field');
  assert.equal(decodeDoorRequest(encodeDoorRequest({ ...req, login: b('') })).kind, 'reject');
  assert.equal(decodeDoorRequest(encodeDoorRequest({ ...req, login: b('a\0b') })).kind, 'reject');

  const account = { user: 'alice', domain: 'example.com', system: true, uid: 1001, gid: 100, home: '/home/alice', shell: '/bin/sh', mayRelay: false, env: {} };
  assert.deepEqual(decodeDoorReply(encodeDoorReply({ kind: 'ok', account })), { kind: 'ok', account });
  const unknown = { ...account, system: false, uid: undefined, gid: undefined, mayRelay: true, env: { VPOPUSER: 'alice@example.com', X: 'a=b' } };
  assert.deepEqual(decodeDoorReply(encodeDoorReply({ kind: 'ok', account: unknown })), { kind: 'ok', account: unknown });
  assert.deepEqual(decodeDoorReply(encodeDoorReply({ kind: 'no', reason: 'password mismatch' })), { kind: 'no', reason: 'password mismatch' });
  assert.deepEqual(decodeDoorReply(encodeDoorReply({ kind: 'temp', reason: 'db down' })), { kind: 'temp', reason: 'db down' });
  const ok = encodeDoorReply({ kind: 'ok', account });
  assert.equal(decodeDoorReply(ok.subarray(0, ok.length - 1)), 'incomplete');
  assert.equal(decodeDoorReply(Buffer.from('\x00\x02OK\x00\x03abc', 'latin1')), 'incomplete');
  assert.equal(decodeDoorReply(Buffer.from('\x00\x03YES', 'latin1')), 'invalid', 'an unknown verdict is never a success');
  const badUid = Buffer.concat([Buffer.from('\x00\x02OK', 'latin1'), ...['u', 'd', 'system', '-1', '1', '/', '/bin/sh', '1', ''].map((f) => Buffer.concat([Buffer.from([0, f.length]), b(f)]))]);
  assert.equal(decodeDoorReply(badUid), 'invalid');
});
