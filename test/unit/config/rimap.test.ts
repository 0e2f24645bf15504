import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRimapServer } from '../../../src/config/rimap.js';
import { confFile, serve } from '../../helpers/config-files.js';

test('host[/port] as saslauthd reads -O for rimap: split at the first /, a number or imap/imaps', () => {
  assert.deepEqual(parseRimapServer('imap.example.com', 'w'), { host: 'imap.example.com', port: undefined });
  assert.deepEqual(parseRimapServer('imap.example.com/1143', 'w'), { host: 'imap.example.com', port: 1143 });
  assert.deepEqual(parseRimapServer('10.0.0.1/imaps', 'w'), { host: '10.0.0.1', port: 993 });
  assert.deepEqual(parseRimapServer('::1/imap', 'w'), { host: '::1', port: 143 });
  assert.deepEqual(parseRimapServer('[2001:db8::1]/993', 'w'), { host: '2001:db8::1', port: 993 });
  for (const bad of ['', '/143', 'host/0', 'host/65536', 'host/pop3', 'host/', 'bad host', 'a..b', '-x.example', 'x/1/2']) {
    assert.throws(() => parseRimapServer(bad, 'w'), /^ConfigError: w: /, bad);
  }
});

test('-a rimap: -O is the IMAP server, the file comes from AUTHMUX_CONFIG, and -O wins over rimap_server', () => {
  const file = confFile('rimap_server: other.example/2143\nrimap_tls: starttls\n');
  const c = serve(['-a', 'rimap', '-O', 'imap.example.com/1143'], { AUTHMUX_CONFIG: file });
  assert.equal(c.configFile, file);
  assert.deepEqual(c.rimap, { host: 'imap.example.com', port: 1143, tls: 'starttls', caFile: undefined, timeoutMs: 30_000, cacheTtlMs: 60_000 });
  // In a chain too, whatever its place; the other mechanisms read their keys from the same file.
  const chain = serve(['-a', 'shadow,rimap', '-O', '127.0.0.1'], { AUTHMUX_CONFIG: confFile('shadow_file: /x/shadow\n') });
  assert.deepEqual(chain.mechs, ['shadow', 'rimap']);
  assert.equal(chain.shadowFile, '/x/shadow');
  assert.equal(chain.rimap?.port, 143);
  const first = serve(['-a', 'rimap,shadow', '-O', '127.0.0.1/10143'], {});
  assert.equal(first.rimap?.port, 10143);
});

test('without -a, mech: rimap takes the server from rimap_server, and -O is a file as always', () => {
  const file = confFile('mech: rimap\nrimap_server: imap.example.com\nrimap_tls: imaps\nrimap_tls_cacert_file: ca.pem\nrimap_timeout: 5\nrimap_cache_ttl: 10\n');
  const c = serve(['-O', file]);
  assert.deepEqual(c.rimap, { host: 'imap.example.com', port: 993, tls: 'imaps', caFile: file.replace(/saslauthd\.conf$/, 'ca.pem'), timeoutMs: 5000, cacheTtlMs: 10_000 });
  assert.equal(serve(['-O', confFile('mech: shadow\n')]).rimap, undefined);
});

test('no server, or a file name where the server goes: an error that says where the file comes from', () => {
  assert.throws(() => serve(['-a', 'rimap'], { AUTHMUX_CONFIG: confFile('') }), /mech rimap needs the IMAP server: -O host\[\/port\]/);
  assert.throws(() => serve(['-a', 'rimap', '-O', '/etc/saslauthd.conf'], {}), /-O \/etc\/saslauthd\.conf: .* names no IMAP server; with rimap it is host\[\/port\].*AUTHMUX_CONFIG/);
  assert.throws(() => serve(['-a', 'rimap', '-O', 'x', '-O', 'imap.example.com/imapx'], {}), /port "imapx"/);
});

test('passwords in the clear to another host are warned about; loopback is not', () => {
  const env = { AUTHMUX_CONFIG: confFile('') };
  assert.match(serve(['-a', 'rimap', '-O', 'imap.example.com'], env).warnings.join('\n'), /passwords go to imap\.example\.com unencrypted/);
  assert.deepEqual(serve(['-a', 'rimap', '-O', '127.0.0.1/143'], env).warnings, []);
  assert.deepEqual(serve(['-a', 'rimap', '-O', 'localhost'], env).warnings, []);
  assert.deepEqual(serve(['-a', 'rimap', '-O', 'imap.example.com'], { AUTHMUX_CONFIG: confFile('rimap_tls: starttls\n') }).warnings, []);
});
