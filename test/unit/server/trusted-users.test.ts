import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveTrustedUsers } from '../../../src/server/trusted-users.js';

const PASSWD = Buffer.from('root:x:0:0:root:/root:/bin/bash\npostfix:x:108:111::/var/spool/postfix:/usr/sbin/nologin\ndovecot:x:109:113::/usr/lib/dovecot:/usr/sbin/nologin\n');

test('trusted users: names become uids, numbers are taken as uids, absent names are reported, root is always in', () => {
  const t = resolveTrustedUsers(['postfix', 'Debian-exim', 'dovecot', '5000'], PASSWD);
  assert.deepEqual([...t.uids].sort((a, b) => a - b), [0, 108, 109, 5000]);
  assert.deepEqual(t.absent, ['Debian-exim']);
  assert.deepEqual(t.described, ['root(0)', 'postfix(108)', 'dovecot(109)', 'uid 5000']);
  assert.deepEqual([...resolveTrustedUsers([], PASSWD).uids], [0]);
});
