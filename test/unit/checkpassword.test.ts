import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clientIpFrom, serviceFrom, underDovecot } from '../../src/doors/checkpassword/environment.js';
import { challengeKindFor, challengeMatches } from '../../src/crypt/challenge.js';
import { decodeDoorReply, decodeDoorRequest, encodeDoorReply, encodeDoorRequest } from '../../src/protocol/checkpassword-door.js';
import { parseFd3Input } from '../../src/protocol/checkpassword.js';

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

test('service and client address from the environment', () => {
  assert.equal(serviceFrom({ SERVICE: 'IMAP', TCPLOCALPORT: '110' }, 'x'), 'imap');
  for (const [port, service] of [['25', 'smtp'], ['465', 'smtp'], ['587', 'smtp'], ['110', 'pop3'], ['995', 'pop3'], ['143', 'imap'], ['993', 'imap']]) {
    assert.equal(serviceFrom({ TCPLOCALPORT: port }, 'x'), service, port);
  }
  assert.equal(serviceFrom({ TCPLOCALPORT: '2110' }, 'pop3'), 'pop3');
  assert.equal(serviceFrom({}, 'webmail'), 'webmail');
  assert.equal(clientIpFrom({ TCPREMOTEIP: '192.0.2.1', REMOTE_IP: '198.51.100.1' }), '192.0.2.1');
  assert.equal(clientIpFrom({ REMOTE_IP: '2001:db8::1' }), '2001:db8::1');
  assert.equal(clientIpFrom({ TCPREMOTEIP: '192.0.2.1; rm -rf' }), undefined);
});

test('Dovecot is recognised only by its whole contract: ORIG_UID of this uid, fd 4 a pipe, its reply program next', () => {
  const reply = '/usr/lib/dovecot/checkpassword-reply';
  const fd4 = new Map([[0, '/dev/null'], [4, 'pipe:[77]']]);
  assert.equal(underDovecot({ ORIG_UID: '0', SERVICE: 'imap' }, reply, fd4, 0), true);
  assert.equal(underDovecot({ ORIG_UID: '115' }, reply, fd4, 115), true);
  // SERVICE is what qmail/tcpserver chains set too: it alone must never skip the uid switch.
  assert.equal(underDovecot({ SERVICE: 'pop3' }, reply, fd4, 0), false);
  assert.equal(underDovecot({ SERVICE: 'pop3', ORIG_UID: '0' }, '/var/qmail/bin/qmail-pop3d', fd4, 0), false);
  assert.equal(underDovecot({ ORIG_UID: '0' }, reply, new Map([[4, '/var/log/x']]), 0), false);
  assert.equal(underDovecot({ ORIG_UID: '0' }, reply, new Map(), 0), false);
  assert.equal(underDovecot({ ORIG_UID: '1000' }, reply, fd4, 0), false, 'another uid started the parent');
  assert.equal(underDovecot({ ORIG_UID: '' }, reply, fd4, 0), false);
  assert.equal(underDovecot({ TCPLOCALPORT: '110' }, 'qmail-pop3d', fd4, 0), false);
});

test('APOP (RFC 1939) and CRAM-MD5 (RFC 2195) examples', () => {
  assert.equal(challengeKindFor('pop3'), 'apop');
  assert.equal(challengeKindFor('SMTP'), 'cram-md5');
  assert.equal(challengeKindFor('imap'), undefined);
  const apopTs = b('<1896.697170952@dbc.mtview.ca.us>');
  assert.equal(challengeMatches('apop', apopTs, b('tanstaaf'), b('c4c9334bac560ecc979e58001b3e22fb')), true);
  assert.equal(challengeMatches('apop', apopTs, b('tanstaaf'), b('C4C9334BAC560ECC979E58001B3E22FB')), true);
  assert.equal(challengeMatches('apop', apopTs, b('tanstaaX'), b('c4c9334bac560ecc979e58001b3e22fb')), false);
  assert.equal(challengeMatches('apop', apopTs, b('tanstaaf'), b('tanstaaf')), false, 'the clear password is not the response');
  const cramTs = b('<1896.697170952@postoffice.reston.mci.net>');
  assert.equal(challengeMatches('cram-md5', cramTs, b('tanstaaftanstaaf'), b('b913a602c7eda7a495b4e6e7334d3890')), true);
  assert.equal(challengeMatches('cram-md5', cramTs, b('tanstaaftanstaaf'), b('c4c9334bac560ecc979e58001b3e22fb')), false);
});

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
