import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { decodeReply, decodeRequest, encodeReply, encodeRequest } from '../../../src/protocol/saslauthd.js';

const full = encodeRequest(['alice', 'secret1', 'imap', 'example.com']);

test('decodes the four counted strings of the documented example', () => {
  const bytes = Buffer.from('0005616c69636500077365637265743100046' + '96d6170000b6578616d706c652e636f6d', 'hex');
  const d = decodeRequest(bytes);
  assert.equal(d.kind, 'request');
  if (d.kind !== 'request') return;
  assert.equal(d.request.login.toString(), 'alice');
  assert.equal(d.request.password.toString(), 'secret1');
  assert.equal(d.request.service.toString(), 'imap');
  assert.equal(d.request.realm.toString(), 'example.com');
  assert.equal(d.request.clientAddr, undefined);
});

test('every proper prefix of a request is incomplete, never a decision', () => {
  for (let n = 0; n < full.length; n++) assert.equal(decodeRequest(full.subarray(0, n)).kind, 'incomplete', `prefix ${n}`);
});

test('a partly arrived 5th field waits for the rest', () => {
  const four = encodeRequest(['alice', 'pw', 'smtp', '']);
  const five = encodeRequest(['alice', 'pw', 'smtp', '', '192.0.2.7;1']);
  for (let n = four.length + 1; n < five.length; n++) assert.equal(decodeRequest(five.subarray(0, n)).kind, 'incomplete', `prefix ${n}`);
  assert.equal(decodeRequest(four).kind, 'request');
});

test('a field over 256 bytes is answered with exactly "NO "', () => {
  for (let pos = 0; pos < 5; pos++) {
    const fields = ['u', 'p', 's', 'r', '1.2.3.4;5'];
    fields[pos] = 'x'.repeat(257);
    const d = decodeRequest(encodeRequest(fields));
    assert.deepEqual(d.kind === 'reject' ? d.reply : d.kind, 'NO ', `field ${pos}`);
  }
  // 256 is still fine
  assert.equal(decodeRequest(encodeRequest(['x'.repeat(256), 'p', 's', 'r'])).kind, 'request');
  // the length alone decides: no need to wait for the body
  const header = Buffer.from([0x01, 0x01]);
  assert.equal(decodeRequest(header).kind, 'reject');
});

test('empty login and password get saslauthd\'s NULL replies; empty service and realm are fine', () => {
  const a = decodeRequest(encodeRequest(['', 'p', 's', 'r']));
  assert.equal(a.kind === 'reject' && a.reply, 'NO NULL login received');
  const b = decodeRequest(encodeRequest(['u', '', 's', 'r']));
  assert.equal(b.kind === 'reject' && b.reply, 'NO NULL password received');
  assert.equal(decodeRequest(encodeRequest(['u', 'p', '', ''])).kind, 'request');
});

test('a NUL byte inside any field is malformed, so "alice\\0x" can never pass as alice', () => {
  for (let pos = 0; pos < 4; pos++) {
    const fields: (string | Buffer)[] = ['alice', 'pw', 'imap', ''];
    fields[pos] = Buffer.from('ab\0cd');
    const d = decodeRequest(encodeRequest(fields));
    assert.equal(d.kind, 'reject');
    assert.ok(d.kind === 'reject' && d.reply.startsWith('NO'));
  }
});

test('random bytes only ever decode to incomplete, request or a NO reply', () => {
  for (let i = 0; i < 20000; i++) {
    const b = randomBytes(Math.floor(Math.random() * 40));
    // half of the inputs get small lengths so that whole requests do occur
    if (i % 2 && b.length >= 2) b.writeUInt16BE(Math.floor(Math.random() * 8), 0);
    const d = decodeRequest(b);
    assert.ok(['incomplete', 'request', 'reject'].includes(d.kind));
    if (d.kind === 'reject') assert.ok(d.reply.startsWith('NO'));
    if (d.kind === 'request') {
      assert.ok(d.request.login.length > 0 && d.request.password.length > 0);
      assert.ok(!d.request.login.includes(0) && !d.request.password.includes(0));
    }
  }
});

test('replies are one counted string with no NUL', () => {
  assert.deepEqual(encodeReply('OK'), Buffer.from([0, 2, 0x4f, 0x4b]));
  assert.deepEqual(encodeReply('NO '), Buffer.from([0, 3, 0x4e, 0x4f, 0x20]));
  const r = decodeReply(encodeReply('NO Incorrect password'));
  assert.deepEqual(r, { kind: 'reply', text: 'NO Incorrect password' });
  assert.equal(decodeReply(Buffer.from([0, 1, 0x4f])).kind, 'invalid');
});
