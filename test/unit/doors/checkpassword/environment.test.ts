import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clientIpFrom, serviceFrom, underDovecot } from '../../../../src/doors/checkpassword/environment.js';

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
