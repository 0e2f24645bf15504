import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loginOutcome } from '../../../../src/backends/rimap/outcome.js';
import { parseResponse } from '../../../../src/protocol/imap.js';

const outcome = (line: string) => {
  const r = parseResponse(Buffer.from(line, 'latin1'));
  assert.equal(r.kind, 'tagged');
  return loginOutcome(r as Extract<typeof r, { kind: 'tagged' }>);
};

test('OK is success; a NO, with or without a code, is a wrong password (IMAP cannot tell an unknown user)', () => {
  assert.deepEqual(outcome('A3 OK [CAPABILITY IMAP4rev1] Logged in'), { kind: 'ok' });
  for (const line of ['A3 NO [AUTHENTICATIONFAILED] Authentication failed.', 'A3 NO Login failed', 'A3 NO [ALERT] Invalid login', 'A3 NO [AUTHORIZATIONFAILED] no']) {
    const o = outcome(line);
    assert.equal(o.kind === 'fail' && o.code, 'bad_password', line);
  }
  const expired = outcome('A3 NO [EXPIRED] Password expired');
  assert.equal(expired.kind === 'fail' && expired.code, 'password_expired');
  const disabled = outcome('A3 NO [CONTACTADMIN] Account disabled');
  assert.equal(disabled.kind === 'fail' && disabled.code, 'service_disabled');
});

test('NO codes that say the server could not check now, or will not take LOGIN here, and BAD: temporary failures', () => {
  for (const line of [
    'A3 NO [UNAVAILABLE] Temporary authentication failure. [mx:2024-01-01 00:00:00]',
    'A3 NO [SERVERBUG] Internal error',
    'A3 NO [LIMIT] Too many connections',
    'A3 NO [INUSE] Mailbox locked',
    'A3 NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.',
    'A3 BAD Error in IMAP command LOGIN: Missing argument',
  ]) {
    assert.equal(outcome(line).kind, 'tempfail', line);
  }
});

test('the server\'s words reach the reason, shortened, with the code in parentheses (brackets would be escaped in the log)', () => {
  const o = outcome(`A3 NO [AUTHENTICATIONFAILED] ${'x'.repeat(500)}`);
  assert.ok(o.kind === 'fail' && o.reason.startsWith('remote server rejected the credentials: NO (AUTHENTICATIONFAILED) xxx') && o.reason.length < 300);
});
