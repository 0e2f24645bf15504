import assert from 'node:assert/strict';
import { test } from 'node:test';
import { refusal, reply, toAuthRequest } from '../../../src/doors/dovecot-auth.js';
import { parseClientLine, type AuthCommand } from '../../../src/protocol/dovecot-auth.js';

function auth(line: string): AuthCommand {
  const d = parseClientLine(Buffer.from(line, 'latin1'));
  if (d.kind !== 'auth') throw new Error(`not an AUTH line: ${line}`);
  return d.auth;
}

test('service and the canonical client address come from AUTH; the realm is left to the login', () => {
  const r = toAuthRequest(Buffer.from('alice@example.com'), Buffer.from('pw'), auth('AUTH\t1\tPLAIN\tservice=imap\trip=::ffff:192.0.2.7'));
  assert.equal(r.login, 'alice@example.com');
  assert.equal(r.service, 'imap');
  assert.equal(r.realm, '');
  assert.equal(r.realmInLogin, true);
  assert.equal(r.clientIp, '192.0.2.7');
  assert.equal(toAuthRequest(Buffer.from('a'), Buffer.from('p'), auth('AUTH\t1\tPLAIN\tservice=smtp\trip=2001:DB8:0::1')).clientIp, '2001:db8::1');
  assert.equal(toAuthRequest(Buffer.from('a'), Buffer.from('p'), auth('AUTH\t1\tPLAIN\tservice=smtp\trip=not-an-ip')).clientIp, undefined);
  assert.equal(toAuthRequest(Buffer.from('a'), Buffer.from('p'), auth('AUTH\t1\tPLAIN\tservice=smtp')).clientIp, undefined);
});

test('the client address from a peer that is not trusted is ignored', () => {
  const r = toAuthRequest(Buffer.from('alice'), Buffer.from('pw'), auth('AUTH\t1\tPLAIN\tservice=pop3\trip=192.0.2.7'), false);
  assert.equal(r.clientIp, undefined);
  assert.equal(r.service, 'pop3');
});

test('OK names the user; refusals say nothing that tells which logins exist; a temporary failure is FAIL ... temp', () => {
  const text = (b: Buffer) => b.toString('latin1');
  assert.equal(text(reply('1', 'alice', { kind: 'ok', cached: false })), 'OK\t1\tuser=alice\n');
  assert.equal(text(reply('2', 'alice', { kind: 'fail', code: 'no_such_user', reason: 'no such user' })), 'FAIL\t2\tuser=alice\n');
  assert.equal(text(reply('3', 'alice', { kind: 'fail', code: 'bad_password', reason: 'password mismatch' })), 'FAIL\t3\tuser=alice\n');
  assert.equal(text(reply('4', 'alice', { kind: 'fail', code: 'account_expired', reason: 'x' })), 'FAIL\t4\tuser=alice\treason=Account expired\n');
  assert.equal(text(reply('4', 'alice', { kind: 'fail', code: 'account_expired', reason: 'x' }, false)), 'FAIL\t4\tuser=alice\n');
  assert.equal(text(reply('5', 'alice', { kind: 'fail', code: 'service_disabled', reason: 'x' })), 'FAIL\t5\tuser=alice\treason=Service disabled for this account\n');
  for (const trusted of [true, false]) {
    const t = text(reply('6', 'alice', { kind: 'tempfail', reason: '/etc/shadow: EACCES' }, trusted));
    assert.match(t, /^FAIL\t6\tuser=alice\treason=Temporary failure, try again later\ttemp\tcode=temp_fail\n$/);
    assert.doesNotMatch(t, /shadow/);
  }
  assert.equal(text(refusal('7', undefined)), 'FAIL\t7\n');
  assert.equal(text(refusal('8', Buffer.from('bob'))), 'FAIL\t8\tuser=bob\n');
});
