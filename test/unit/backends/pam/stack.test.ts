import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { pamServiceFile, readPamStack, stampOf } from '../../../../src/backends/pam/stack.js';
import { tempDir } from '../../../helpers/fixtures.js';

function pamDir(files: Record<string, string>): string {
  const dir = join(tempDir(), 'pam.d');
  mkdirSync(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

test('a service file is found as Linux-PAM finds it: lower-cased, else "other"', () => {
  const dir = pamDir({ smtp: '', other: '' });
  assert.equal(pamServiceFile(dir, 'SMTP'), join(dir, 'smtp'));
  assert.equal(pamServiceFile(dir, 'imap'), join(dir, 'other'));
});

test('Debian\'s layout (@include common-auth) with pam_unix alone is file-backed, and watches passwd and shadow', () => {
  const dir = pamDir({
    smtp: '# comment\n@include common-auth\n@include common-account\nsession required pam_limits.so\n',
    'common-auth': 'auth [success=1 default=ignore] pam_unix.so nullok\nauth requisite pam_deny.so\nauth required pam_permit.so\n',
    'common-account': 'account [success=1 new_authtok_reqd=done default=ignore] pam_unix.so\naccount requisite pam_deny.so\naccount required pam_permit.so\n',
  });
  const s = readPamStack(dir, join(dir, 'smtp'));
  assert.equal(s.fileBacked, true);
  for (const f of ['smtp', 'common-auth', 'common-account']) assert.ok(s.files.includes(join(dir, f)), f);
  assert.ok(s.files.includes('/etc/passwd') && s.files.includes('/etc/shadow'));
});

test('include and substack are followed; a module with no change signal makes the stack not file-backed', () => {
  const dir = pamDir({ imap: 'auth substack ldap-auth\naccount include plain\n', 'ldap-auth': '-auth sufficient pam_ldap.so\n', plain: 'account required pam_permit.so\n' });
  const s = readPamStack(dir, join(dir, 'imap'));
  assert.equal(s.fileBacked, false);
  assert.ok(s.files.includes(join(dir, 'ldap-auth')) && s.files.includes(join(dir, 'plain')));
});

test('pam_userdb\'s database file is watched; session and password lines are not read', () => {
  const dir = pamDir({ pop: 'auth required pam_userdb.so db=/var/lib/x/users\naccount required pam_permit.so\nsession required pam_ldap.so\npassword required pam_sss.so\n' });
  const s = readPamStack(dir, join(dir, 'pop'));
  assert.equal(s.fileBacked, true);
  assert.ok(s.files.includes('/var/lib/x/users.db'));
});

test('an include loop ends, and a missing include makes the stack not file-backed', () => {
  const dir = pamDir({ a: '@include b\n', b: '@include a\nauth required pam_unix.so\n', c: '@include nowhere\n' });
  assert.equal(readPamStack(dir, join(dir, 'a')).fileBacked, true);
  assert.equal(readPamStack(dir, join(dir, 'c')).fileBacked, false);
});

test('the stamp changes when a watched file is written', () => {
  const dir = pamDir({ smtp: 'auth required pam_unix.so\n' });
  const files = [join(dir, 'smtp')];
  const before = stampOf(files);
  writeFileSync(join(dir, 'smtp'), 'auth required pam_deny.so\n');
  assert.notEqual(stampOf(files), before);
});
