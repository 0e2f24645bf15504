import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { isPamServiceName, pamServiceFile, readPamStack, stampOf } from '../../../../src/backends/pam/stack.js';
import { tempDir } from '../../../helpers/fixtures.js';

function pamDir(files: Record<string, string>): string {
  const dir = join(tempDir(), 'pam.d');
  mkdirSync(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

test('a service file is found as Linux-PAM finds it: lower-cased, the admin\'s directory first, else "other"', () => {
  const etc = pamDir({ smtp: '', other: '' });
  const vendor = pamDir({ imap: '', smtp: '' });
  assert.equal(pamServiceFile([etc, vendor], 'SMTP'), join(etc, 'smtp'));
  assert.equal(pamServiceFile([etc, vendor], 'imap'), join(vendor, 'imap'));
  assert.equal(pamServiceFile([etc, vendor], 'pop'), join(etc, 'other'));
  assert.equal(pamServiceFile([vendor], 'pop'), undefined);
});

test('only plain ASCII service names are PAM service names', () => {
  for (const ok of ['smtp', 'imap', 'dovecot-sasl', 'authmux-test-ab12_c+d', 'x.y']) assert.ok(isPamServiceName(ok), ok);
  for (const bad of ['', '.', '..', '.hidden', '../su', '/etc/pam.d/su', 'su\x00', 'caf\xe9', 'a b', 'x'.repeat(65)]) assert.ok(!isPamServiceName(bad), JSON.stringify(bad));
});

test('Debian\'s layout (@include common-auth) with pam_unix alone is file-backed, and watches passwd and shadow', () => {
  const dir = pamDir({
    smtp: '# comment\n@include common-auth\n@include common-account\nsession required pam_limits.so\n',
    'common-auth': 'auth [success=1 default=ignore] pam_unix.so nullok\nauth requisite pam_deny.so\nauth required pam_permit.so\n',
    'common-account': 'account [success=1 new_authtok_reqd=done default=ignore] pam_unix.so\naccount requisite pam_deny.so\naccount required pam_permit.so\n',
  });
  const s = readPamStack([dir], join(dir, 'smtp'));
  assert.equal(s.fileBacked, true);
  assert.equal(s.trustsRoot, false);
  for (const f of ['smtp', 'common-auth', 'common-account']) assert.ok(s.files.includes(join(dir, f)), f);
  assert.ok(s.files.includes('/etc/passwd') && s.files.includes('/etc/shadow'));
});

test('include and substack are followed; a module with no change signal makes the stack not file-backed', () => {
  const dir = pamDir({ imap: 'auth substack ldap-auth\naccount include plain\n', 'ldap-auth': '-auth sufficient pam_ldap.so\n', plain: 'account required pam_permit.so\n' });
  const s = readPamStack([dir], join(dir, 'imap'));
  assert.equal(s.fileBacked, false);
  assert.ok(s.files.includes(join(dir, 'ldap-auth')) && s.files.includes(join(dir, 'plain')));
});

test('one file included for auth and again for account is read for both (Red Hat\'s system-auth)', () => {
  const dir = pamDir({ pop: 'auth include system-auth\naccount include system-auth\n', 'system-auth': 'auth required pam_unix.so\naccount required pam_sss.so\n' });
  assert.equal(readPamStack([dir], join(dir, 'pop')).fileBacked, false);
});

test('a type the service file lacks comes from "other", as libpam takes it, and "other" is watched', () => {
  const dir = pamDir({ noacct: 'auth required pam_permit.so\n', other: 'auth required pam_deny.so\naccount required pam_unix.so\n' });
  const s = readPamStack([dir], join(dir, 'noacct'));
  assert.ok(s.files.includes(join(dir, 'other')));
  assert.ok(s.files.includes('/etc/shadow'), 'pam_unix from other\'s account stack');
  const ldap = pamDir({ noacct: 'auth required pam_permit.so\n', other: 'account required pam_ldap.so\n' });
  assert.equal(readPamStack([ldap], join(ldap, 'noacct')).fileBacked, false);
});

test('types are read without regard to case, as Linux-PAM reads them', () => {
  const dir = pamDir({ x: 'auth required pam_permit.so\nAccount required pam_exec.so /bin/true\n' });
  assert.equal(readPamStack([dir], join(dir, 'x')).fileBacked, false);
});

test('pam_rootok anywhere in the auth or account stack is reported', () => {
  const dir = pamDir({ su: 'auth sufficient pam_rootok.so\n@include common-auth\n', 'common-auth': 'auth required pam_unix.so\n', chfn: 'auth sufficient /lib/x86_64-linux-gnu/security/pam_rootok.so\n' });
  assert.equal(readPamStack([dir], join(dir, 'su')).trustsRoot, true);
  assert.equal(readPamStack([dir], join(dir, 'chfn')).trustsRoot, true);
});

test('pam_userdb\'s database file is watched; pam_nologin (its file= is not) is not file-backed; session lines are not read', () => {
  const dir = pamDir({ pop: 'auth required pam_userdb.so db=/var/lib/x/users\naccount required pam_permit.so\nsession required pam_ldap.so\npassword required pam_sss.so\n', nl: 'auth required pam_nologin.so file=/tmp/x\nauth required pam_unix.so\n' });
  const s = readPamStack([dir], join(dir, 'pop'));
  assert.equal(s.fileBacked, true);
  assert.ok(s.files.includes('/var/lib/x/users.db'));
  assert.equal(readPamStack([dir], join(dir, 'nl')).fileBacked, false);
});

test('an include loop ends, and a missing include or no service file at all makes the stack not file-backed', () => {
  const dir = pamDir({ a: '@include b\n', b: '@include a\nauth required pam_unix.so\naccount required pam_unix.so\n', c: '@include nowhere\n' });
  assert.equal(readPamStack([dir], join(dir, 'a')).fileBacked, true);
  assert.equal(readPamStack([dir], join(dir, 'c')).fileBacked, false);
  assert.equal(readPamStack([dir], undefined).fileBacked, false);
});

test('the stamp changes when a watched file is written', () => {
  const dir = pamDir({ smtp: 'auth required pam_unix.so\n' });
  const files = [join(dir, 'smtp')];
  const before = stampOf(files);
  writeFileSync(join(dir, 'smtp'), 'auth required pam_deny.so\n');
  assert.notEqual(stampOf(files), before);
});
