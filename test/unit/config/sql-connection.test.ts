import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseSqlUrl, parseVpopmailLine, readVpopmailConnFile } from '../../../src/config/sql-connection.js';
import { tempDir } from '../../helpers/fixtures.js';

test("vpopmail.mysql lines: port or socket, 0 = default, a '|' inside the password", () => {
  assert.deepEqual(parseVpopmailLine('localhost|0|vpopmail|secret|vpopmail', 'mysql', 'f:1'), {
    driver: 'mysql', host: 'localhost', port: undefined, socketPath: '/run/mysqld/mysqld.sock', user: 'vpopmail', password: 'secret', database: 'vpopmail',
  });
  const tcp = parseVpopmailLine('db.example|3307|u|p|vp', 'mysql', 'f:1');
  assert.equal(tcp.port, 3307);
  assert.equal(tcp.socketPath, undefined);
  assert.equal(parseVpopmailLine('localhost|/tmp/my.sock|u|p|vp', 'mysql', 'f:1').socketPath, '/tmp/my.sock');
  assert.equal(parseVpopmailLine('localhost|0|u|p|vp', 'pgsql', 'f:1').socketPath, undefined, 'libpq: localhost is TCP');
  assert.equal(parseVpopmailLine('h|0|u|a|b||c|vp', 'mysql', 'f:1').password, 'a|b||c');
  assert.throws(() => parseVpopmailLine('h|0|u|vp', 'mysql', 'f:3'), /f:3: expected host\|port\|user\|password\|database, found 4 fields/);
  assert.throws(() => parseVpopmailLine('h|abc|u|p|vp', 'mysql', 'f:3'), /port number or a socket path/);

  const dir = tempDir();
  const file = join(dir, 'vpopmail.mysql');
  writeFileSync(file, '# read\nlocalhost|0|reader|r|vpopmail\n\n# write\nmaster.example|3306|writer|w|vpopmail\n');
  const both = readVpopmailConnFile(file, 'mysql');
  assert.equal(both.read.user, 'reader');
  assert.equal(both.write.host, 'master.example');
  writeFileSync(file, '# nothing\n');
  assert.throws(() => readVpopmailConnFile(file, 'mysql'), /no connection line/);
});

test('vpopmail_sql URLs', () => {
  const u = parseSqlUrl('mysql://vp:p%7Cw@db.example:3307/vpopmail', 'conf:1');
  assert.deepEqual([u.driver, u.host, u.port, u.user, u.password, u.database], ['mysql', 'db.example', 3307, 'vp', 'p|w', 'vpopmail']);
  assert.equal(parseSqlUrl('postgres://vp@localhost/vpopmail', 'c').driver, 'pgsql');
  assert.equal(parseSqlUrl('mysql://root@localhost/vp?socket=/run/mysqld/mysqld.sock', 'c').socketPath, '/run/mysqld/mysqld.sock');
  assert.throws(() => parseSqlUrl('redis://x/1', 'conf:4'), /conf:4: unknown database scheme/);
  assert.throws(() => parseSqlUrl('mysql://u:topsecret@h', 'conf:5'), /names no database/);
  assert.throws(() => parseSqlUrl('not a url topsecret', 'conf:6'), /conf:6: not a URL/);
});

