import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeReply, decodeRequest, encodeRequest } from '../../../src/protocol/saslauthd.js';
import { reply, toAuthRequest } from '../../../src/doors/saslauthd.js';

test('a 5th field that arrives with the request is the client address', () => {
  const d = decodeRequest(encodeRequest(['alice', 'pw', 'smtp', '', '192.0.2.7;41234']));
  assert.equal(d.kind, 'request');
  if (d.kind !== 'request') return;
  const ip = (addr: string) => toAuthRequest({ ...d.request, clientAddr: Buffer.from(addr) }).clientIp;
  assert.equal(toAuthRequest(d.request).clientIp, '192.0.2.7');
  assert.equal(ip('2001:db8::1;25'), '2001:db8::1');
  assert.equal(ip('not-an-ip;25'), undefined);
  assert.equal(ip(''), undefined);
});

test('results map to saslauthd\'s exact reply texts', () => {
  const replyText = (r: Parameters<typeof reply>[0], terse: boolean) => {
    const d = decodeReply(reply(r, terse ? 'sasldb' : 'shadow'));
    return d.kind === 'reply' ? d.text : d.kind;
  };
  assert.equal(replyText({ kind: 'ok', cached: false }, false), 'OK');
  assert.equal(replyText({ kind: 'fail', code: 'no_such_user', reason: '' }, false), 'NO Invalid username');
  assert.equal(replyText({ kind: 'fail', code: 'bad_password', reason: '' }, false), 'NO Incorrect password');
  assert.equal(replyText({ kind: 'fail', code: 'account_expired', reason: '' }, false), 'NO Account expired');
  assert.equal(replyText({ kind: 'fail', code: 'password_expired', reason: '' }, false), 'NO Password expired');
  assert.equal(replyText({ kind: 'fail', code: 'bad_password', reason: '' }, true), 'NO');
  assert.match(replyText({ kind: 'tempfail', reason: 'x' }, false), /^NO Temporary failure/);
  assert.match(replyText({ kind: 'tempfail', reason: 'x' }, true), /^NO Temporary failure/);
});

test('rimap answers in saslauthd\'s rimap words: its own OK (plain OK from the cache), one NO for every refusal', () => {
  const text = (r: Parameters<typeof reply>[0], trusted = true) => {
    const d = decodeReply(reply(r, 'rimap', trusted));
    return d.kind === 'reply' ? d.text : d.kind;
  };
  assert.equal(text({ kind: 'ok', cached: false }), 'OK remote authentication successful');
  assert.equal(text({ kind: 'ok', cached: true }), 'OK');
  for (const code of ['no_such_user', 'bad_password', 'password_expired', 'service_disabled'] as const) {
    assert.equal(text({ kind: 'fail', code, reason: '' }), 'NO remote server rejected your credentials');
  }
  assert.equal(text({ kind: 'fail', code: 'bad_password', reason: '' }, false), 'NO');
  assert.equal(text({ kind: 'tempfail', reason: 'server down' }), 'NO Temporary failure, try again later');
});
