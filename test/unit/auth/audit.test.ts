import assert from 'node:assert/strict';
import { test } from 'node:test';
import { auditLine } from '../../../src/auth/audit.js';
import { logSafe } from '../../../src/log-line.js';

test('client-controlled text cannot forge a log line', () => {
  assert.equal(logSafe('bob\nsaslauthd[1]: auth success'), 'bob\\x0asaslauthd\\x5b1\\x5d: auth success');
  const line = auditLine('auth failure', { login: 'a]\r\n[user=root', password: Buffer.from('pw'), service: 'imap', realm: '', clientIp: '192.0.2.1' }, 'shadow', 'password mismatch');
  assert.ok(!/[\r\n]/.test(line));
  // The brackets are escaped too: the login cannot close its field and open a [user=...] of its own.
  assert.equal(line, 'auth failure: [user=a\\x5d\\x0d\\x0a\\x5buser=root] [service=imap] [realm=] [mech=shadow] [reason=password mismatch] [client=192.0.2.1]');
});
