import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig, parseSaslauthdArgs } from '../../../src/config/config.js';
import { tempDir } from '../../helpers/fixtures.js';
import { confFile, serve } from '../../helpers/config-files.js';

test('saslauthd flags map onto the config', () => {
  const c = serve(['-a', 'SHADOW', '-c', '-d', '-m', '/tmp/rd', '-n', '3', '-r', '-t', '60', '-s', '100', '-V', '-O', confFile('')]);
  assert.deepEqual(c.mechs, ['shadow']);
  assert.equal(c.socketPath, '/tmp/rd/mux');
  assert.equal(c.pidFile, '/tmp/rd/saslauthd.pid');
  assert.equal(c.cryptConcurrency, 3);
  assert.ok(c.combineRealm && c.debug && c.foreground && c.verbose);
  assert.deepEqual(c.cache, { enabled: true, ttlMs: 60_000, entries: 1024 });
  assert.deepEqual(c.log.target, { kind: 'stderr' });
});

test('-f is foreground without verbose; the default log of a detached daemon is syslog', () => {
  const f = serve(['-a', 'shadow', '-f', '-O', confFile('')]);
  assert.ok(f.foreground && !f.verbose && !f.debug);
  const bg = serve(['-a', 'shadow', '-O', confFile('')]);
  assert.ok(!bg.foreground);
  assert.deepEqual(bg.log.target, { kind: 'syslog', path: '/dev/log' });
});

test('mechanisms: unknown or unserved ones are errors that name the supported ones; -a wins over mech', () => {
  assert.throws(() => serve(['-a', 'kerberos5', '-O', confFile('')]), /kerberos5 is a saslauthd mechanism.*supported: shadow, getpwent, sasldb, vpopmail, pam/);
  assert.deepEqual(serve(['-a', 'pam', '-O', confFile('')]).mechs, ['pam']);
  assert.throws(() => serve(['-a', 'foo', '-O', confFile('')]), /unknown mechanism "foo"; supported/);
  assert.throws(() => serve(['-O', confFile('')]), /no mechanism/);
  assert.deepEqual(serve(['-O', confFile('mech: getpwent\n')]).mechs, ['getpwent']);
  assert.deepEqual(serve(['-a', 'shadow', '-O', confFile('mech: getpwent\n')]).mechs, ['shadow']);
});

test('-m must be absolute; -n 0 means one per CPU; -t must be positive', () => {
  assert.throws(() => serve(['-a', 'shadow', '-m', 'run', '-O', confFile('')]), /absolute/);
  assert.ok(serve(['-a', 'shadow', '-n', '0', '-O', confFile('')]).cryptConcurrency >= 1);
  assert.throws(() => serve(['-a', 'shadow', '-t', '0', '-O', confFile('')]), /-t/);
});

test('serve_processes shares -n out among the processes (at least one each); 0 is one process per CPU', () => {
  const two = serve(['-a', 'shadow', '-n', '5', '-O', confFile('serve_processes: 2\n')]);
  assert.deepEqual([two.serveProcesses, two.cryptConcurrency], [2, 3]);
  const many = serve(['-a', 'shadow', '-n', '1', '-O', confFile('serve_processes: 4\n')]);
  assert.deepEqual([many.serveProcesses, many.cryptConcurrency], [4, 1]);
  assert.equal(serve(['-a', 'shadow', '-O', confFile('')]).serveProcesses, 1);
  assert.ok(serve(['-a', 'shadow', '-O', confFile('serve_processes: 0\n')]).serveProcesses >= 1);
  assert.throws(() => serve(['-a', 'shadow', '-O', confFile('serve_processes: 65\n')]), /conf:1: 65 is out of range 0..64/);
});

test('config file is found by -O, then AUTHMUX_CONFIG; a named file that is missing is an error', () => {
  const a = confFile('mech: shadow\n');
  const b = confFile('mech: getpwent\n');
  assert.deepEqual(serve(['-O', a], { AUTHMUX_CONFIG: b }).mechs, ['shadow']);
  assert.deepEqual(serve([], { AUTHMUX_CONFIG: b }).mechs, ['getpwent']);
  assert.equal(serve([], { AUTHMUX_CONFIG: b }).configFile, b);
  assert.throws(() => serve(['-O', '/nonexistent/x.conf']), /cannot read config file/);
});

test('keys: files relative to the config file, saslauthd\'s unsupported LDAP keys warn without -a ldap, bad values name their line', () => {
  const p = confFile('mech: shadow\npasswd_file: p\nshadow_file: /abs/s\nldap_use_sasl: yes\nrequest_timeout: 2.5\nmax_connections: 7\ncache: yes\ncache_ttl: 30\ncache_size: 5\nlog_target: syslog\nsyslog_path: /tmp/log.sock\n');
  const c = serve(['-f', '-O', p]);
  assert.equal(c.passwdFile, join(p, '..', 'p'));
  assert.equal(c.shadowFile, '/abs/s');
  assert.equal(c.requestTimeoutMs, 2500);
  assert.equal(c.maxConnections, 7);
  assert.deepEqual(c.cache, { enabled: true, ttlMs: 30_000, entries: 5 });
  assert.deepEqual(c.log.target, { kind: 'syslog', path: '/tmp/log.sock' });
  assert.equal(c.warnings.length, 1);
  assert.match(c.warnings[0]!, /:4: ldap_use_sasl ignored \(not supported, and ldap is not a mechanism here\): SASL binds/);
  assert.throws(() => serve(['-O', confFile('mech: shadow\nmax_connections: lots\n')]), /:2: expected a whole number/);
  assert.throws(() => serve(['-O', confFile('mech: shadow\ncache: maybe\n')]), /:2: expected yes or no/);
  assert.throws(() => serve(['-O', confFile('mech: shadow\ncrypt_engine: gpu\n')]), /:2: expected one of auto, libxcrypt, js/);
});

test('connection limits: defaults leave room for 2,000 logins from the MTA; trusted_users is a list; idle_timeout in seconds', () => {
  const d = serve(['-a', 'shadow', '-O', confFile('')]);
  assert.equal(d.maxConnections, 4096);
  assert.equal(d.maxConnectionsPerUser, 32);
  assert.deepEqual(d.trustedUsers, ['root', 'postfix', 'Debian-exim', 'exim', 'mail', 'dovecot', 'cyrus', 'smmsp']);
  assert.equal(d.idleTimeoutMs, 60_000);
  const c = serve(['-a', 'shadow', '-O', confFile('max_connections_per_user: 4\ntrusted_users: postfix, www-data 33\nidle_timeout: 2.5\n')]);
  assert.equal(c.maxConnectionsPerUser, 4);
  assert.deepEqual(c.trustedUsers, ['postfix', 'www-data', '33']);
  assert.equal(c.idleTimeoutMs, 2500);
  assert.throws(() => serve(['-a', 'shadow', '-O', confFile('max_connections_per_user: 0\n')]), /:1: 0 is out of range/);
  assert.throws(() => serve(['-a', 'shadow', '-O', confFile('idle_timeout: soon\n')]), /:1: expected seconds/);
});

test('-h and -v are answered without a config', () => {
  assert.equal(parseSaslauthdArgs(['-h'], {}).action, 'help');
  assert.equal(parseSaslauthdArgs(['-v'], {}).action, 'version');
});

test('every command loads the same way: no flags, no mechanism needed; values parsed once, in config', () => {
  const dir = tempDir();
  const p = join(dir, 'c.conf');
  writeFileSync(p, 'relay_store: redis\nrelay_redis: redis-cluster://10.0.0.1:7000,node2\nsasldb_path: db\n');
  const c = loadConfig({ file: p, env: {} });
  assert.deepEqual(c.mechs, []);
  assert.equal(c.sasldbPath, join(dir, 'db'));
  assert.deepEqual(c.relay.redis, { kind: 'cluster', nodes: [{ host: '10.0.0.1', port: 7000 }, { host: 'node2', port: 6379 }] });
  assert.equal(loadConfig({ env: { AUTHMUX_CONFIG: p } }).configFile, p);
  assert.equal(loadConfig({ file: p, env: {}, flags: { runDir: '/r' } }).relay.file, '/r/relayers');
  assert.throws(() => loadConfig({ file: confFile('relay_redis: http://x\n'), env: {} }), /:1: expected redis:\/\/, rediss:\/\/ or redis-cluster:\/\//);
  assert.throws(() => loadConfig({ file: confFile('relay_redis: redis-cluster://h:99999\n'), env: {} }), /"h:99999" is not host:port/);
});

test('dovecot_* keys: off by default; mode in octal, owner names and mechanisms checked', () => {
  const off = serve(['-a', 'shadow', '-O', confFile('')]);
  assert.deepEqual(off.dovecot, { socket: undefined, mode: 0o660, user: undefined, group: undefined, mechanisms: ['PLAIN', 'LOGIN'] });
  const p = confFile('dovecot_socket: run/auth\ndovecot_socket_mode: 0600\ndovecot_socket_group: postfix\ndovecot_mechanisms: login, Plain login\n');
  const on = serve(['-a', 'shadow', '-O', p]);
  assert.equal(on.dovecot.socket, join(p, '..', 'run/auth'));
  assert.equal(on.dovecot.mode, 0o600);
  assert.equal(on.dovecot.group, 'postfix');
  assert.deepEqual(on.dovecot.mechanisms, ['LOGIN', 'PLAIN']);
  assert.throws(() => serve(['-a', 'shadow', '-O', confFile('dovecot_socket_mode: 0999\n')]), /:1: expected an octal mode/);
  assert.throws(() => serve(['-a', 'shadow', '-O', confFile('dovecot_socket_mode: 17777\n')]), /expected an octal mode/);
  assert.throws(() => serve(['-a', 'shadow', '-O', confFile('dovecot_mechanisms: PLAIN CRAM-MD5\n')]), /:1: expected one of plain, login/);
  assert.throws(() => serve(['-a', 'shadow', '-O', confFile('dovecot_mechanisms: ,\n')]), /at least one of PLAIN, LOGIN/);
});

test('dovecot_userdb_socket: off by default; a path relative to the config file', () => {
  assert.equal(serve(['-a', 'shadow', '-O', confFile('')]).dovecotUserdbSocket, undefined);
  const p = confFile('dovecot_userdb_socket: run/userdb\n');
  assert.equal(serve(['-a', 'shadow', '-O', p]).dovecotUserdbSocket, join(p, '..', 'run/userdb'));
});

test('several mechanisms in order: commas and/or spaces in -a and in mech; unknown or repeated members refused, saying where', () => {
  assert.deepEqual(serve(['-a', 'shadow,sasldb', '-O', confFile('')]).mechs, ['shadow', 'sasldb']);
  assert.deepEqual(serve(['-a', 'SASLDB, shadow getpwent', '-O', confFile('')]).mechs, ['sasldb', 'shadow', 'getpwent']);
  const p = confFile('mech: shadow sasldb vpopmail\nvpopmail_sql: mysql://u:p@h/d\n');
  const c = serve(['-O', p]);
  assert.deepEqual(c.mechs, ['shadow', 'sasldb', 'vpopmail']);
  assert.ok(c.vpopmail, 'vpopmail anywhere in the chain reads its keys');
  assert.deepEqual(serve(['-O', confFile('mech: sasldb,shadow\n')]).mechs, ['sasldb', 'shadow']);
  assert.equal(serve(['-a', 'shadow,sasldb', '-O', confFile('')]).vpopmail, undefined);
  assert.throws(() => serve(['-O', confFile('mech: shadow vpopmail\n')]), /needs vpopmail_sql/);
  assert.throws(() => serve(['-a', 'shadow,foo', '-O', confFile('')]), /-a shadow,foo: unknown mechanism "foo"; supported: shadow, getpwent, sasldb, vpopmail/);
  assert.throws(() => serve(['-O', confFile('# sources\nmech: shadow kerberos5\n')]), /saslauthd\.conf:2: kerberos5 is a saslauthd mechanism Authmux does not serve; supported: /);
  assert.throws(() => serve(['-a', 'shadow,sasldb,Shadow', '-O', confFile('')]), /-a shadow,sasldb,Shadow: shadow is named twice; each mechanism is asked once/);
  assert.throws(() => serve(['-O', confFile('mech: sasldb sasldb\n')]), /:1: sasldb is named twice/);
  assert.throws(() => serve(['-a', ',', '-O', confFile('')]), /-a ,: no mechanism named/);
  // -a still wins over the key, whole: the file's list is not merged in.
  assert.deepEqual(serve(['-a', 'sasldb', '-O', confFile('mech: shadow getpwent\n')]).mechs, ['sasldb']);
});
