import assert from 'node:assert/strict';
import { test } from 'node:test';
import { serviceRefused } from '../../../../src/backends/vpopmail/flags.js';
import { DEFAULT_SERVICE_FLAGS, parseServiceFlags, VPOPMAIL_FLAGS } from '../../../../src/config/vpopmail.js';

test('service flags: defaults as vchkpw, configurable, unknown services unrestricted', () => {
  const map = parseServiceFlags(DEFAULT_SERVICE_FLAGS, 'default');
  assert.equal(serviceRefused(VPOPMAIL_FLAGS.NO_POP, 'pop3', map), true);
  assert.equal(serviceRefused(VPOPMAIL_FLAGS.NO_POP, 'POP', map), true);
  assert.equal(serviceRefused(VPOPMAIL_FLAGS.NO_POP, 'imap', map), false);
  assert.equal(serviceRefused(VPOPMAIL_FLAGS.NO_IMAP, 'imap', map), true);
  assert.equal(serviceRefused(VPOPMAIL_FLAGS.NO_SMTP, 'smtp', map), true);
  assert.equal(serviceRefused(VPOPMAIL_FLAGS.NO_SMTP, 'submission', map), true);
  assert.equal(serviceRefused(VPOPMAIL_FLAGS.NO_WEBMAIL, 'webmail', map), true);
  assert.equal(serviceRefused(VPOPMAIL_FLAGS.NO_RELAY, 'smtp', map), false, 'NO_RELAY refuses no login');
  assert.equal(serviceRefused(0xffff, 'sieve', map), false);
  const custom = parseServiceFlags('sieve=NO_IMAP, esmtp=no_smtp', 'conf:1');
  assert.equal(serviceRefused(VPOPMAIL_FLAGS.NO_IMAP, 'sieve', custom), true);
  assert.equal(serviceRefused(VPOPMAIL_FLAGS.NO_SMTP, 'esmtp', custom), true);
  assert.throws(() => parseServiceFlags('pop3=NO_SUCH', 'conf:2'), /conf:2: "pop3=NO_SUCH" is not service=FLAG/);
});
