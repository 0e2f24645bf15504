import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseGroup, resolveSocketOwner } from '../../../src/server/socket-owner.js';

const passwd = () => Buffer.from('root:x:0:0::/root:/bin/sh\npostfix:x:101:104::/var/spool/postfix:/usr/sbin/nologin\n');
const group = () => Buffer.from('root:x:0:\n+nis\npostfix:x:104:\npostfix:x:999:\nbroken\nsasl:x:45:postfix,cyrus\n');

test('group names map to the first gid listed; NIS and malformed lines are skipped', () => {
  assert.deepEqual([...parseGroup(group())], [['root', 0], ['postfix', 104], ['sasl', 45]]);
});

test('names and numbers resolve; unset keeps the daemon\'s own (-1); an unknown name is an error naming the key', () => {
  assert.deepEqual(resolveSocketOwner('postfix', 'sasl', 'k', { passwd, group }), { uid: 101, gid: 45 });
  assert.deepEqual(resolveSocketOwner(undefined, 'postfix', 'k', { passwd, group }), { uid: -1, gid: 104 });
  assert.deepEqual(resolveSocketOwner('1234', '5678', 'k', { passwd: () => { throw new Error('not read'); }, group: () => { throw new Error('not read'); } }), { uid: 1234, gid: 5678 });
  assert.deepEqual(resolveSocketOwner(undefined, undefined, 'k'), { uid: -1, gid: -1 });
  assert.throws(() => resolveSocketOwner('nosuch', undefined, 'dovecot_socket', { passwd, group }), /^ConfigError: dovecot_socket_user: no user named "nosuch"/);
  assert.throws(() => resolveSocketOwner(undefined, 'nosuch', 'dovecot_socket', { passwd, group }), /^ConfigError: dovecot_socket_group: no group named "nosuch"/);
});
