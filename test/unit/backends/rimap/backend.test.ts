import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createRimapBackend } from '../../../../src/backends/rimap/backend.js';
import type { RimapConfig } from '../../../../src/config/rimap.js';
import { TempFail } from '../../../../src/errors.js';
import { tempDir } from '../../../helpers/fixtures.js';

const servers: Server[] = [];
after(() => servers.forEach((s) => s.close()));

/** A server that greets at once and answers each LOGIN only when told to. */
async function heldServer(): Promise<{ port: number; logins: Socket[]; connections: () => number }> {
  const logins: Socket[] = [];
  let connections = 0;
  const server = createServer((s) => {
    connections++;
    s.on('error', () => undefined);
    s.on('data', (c: Buffer) => {
      if (c.toString().startsWith('A3 LOGIN')) logins.push(s);
    });
    s.write('* OK [CAPABILITY IMAP4rev1] ready\r\n');
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as { port: number }).port, logins, connections: () => connections };
}

function config(port: number, extra: Partial<RimapConfig> = {}): RimapConfig {
  return { host: '127.0.0.1', port, tls: 'none', caFile: undefined, timeoutMs: 5000, cacheTtlMs: 60_000, ...extra };
}

const dir = tempDir('authmux-rimap-');
const passwd = join(dir, 'passwd');
writeFileSync(passwd, 'alice:x:1000:1000::/home/alice:/bin/sh\n');
const req = (login: string) => ({ login, realm: '', service: 'imap' });

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond());
}

test('an empty password, or one with a NUL byte, is refused without asking the server', async () => {
  const s = await heldServer();
  const b = createRimapBackend({ server: config(s.port), passwdFile: passwd, concurrency: 2 });
  assert.equal((await b.verify!(req('alice'), Buffer.alloc(0), {})).kind, 'fail');
  assert.equal((await b.verify!(req('alice'), Buffer.from('a\0b'), {})).kind, 'fail');
  const nulLogin = await b.verify!(req('al\0ice'), Buffer.from('pw'), {});
  assert.equal(nulLogin.kind === 'fail' && nulLogin.code, 'no_such_user');
  assert.equal(s.connections(), 0);
});

test('other local users\' checks never hold the last place: the MTA\'s go past a server that holds theirs', async () => {
  const s = await heldServer();
  const b = createRimapBackend({ server: config(s.port), passwdFile: passwd, concurrency: 2 });
  const theirs = [1, 2, 3].map(() => b.verify!(req('alice'), Buffer.from('pw'), { trusted: false }));
  await until(() => s.logins.length === 1);
  const mine = b.verify!(req('alice'), Buffer.from('pw'), { trusted: true });
  await until(() => s.logins.length === 2);
  s.logins[1]!.write('A3 OK yes\r\n');
  assert.deepEqual(await mine, { kind: 'ok' });
  assert.equal(s.connections(), 2, 'the untrusted ones waited for their one place');
  for (let i = 0; i < 3; i++) {
    await until(() => s.logins.length >= 2 + i);
    s.logins[i === 0 ? 0 : 1 + i]!.write('A3 NO [AUTHENTICATIONFAILED] no\r\n');
  }
  for (const v of await Promise.all(theirs)) assert.equal(v.kind, 'fail');
});

test('a NO that says the server cannot check now is a TempFail, never a refusal', async () => {
  const server = createServer((sock) => {
    sock.on('error', () => undefined);
    sock.on('data', (c: Buffer) => c.toString().startsWith('A3') && sock.write('A3 NO [UNAVAILABLE] Temporary authentication failure.\r\n'));
    sock.write('* OK [CAPABILITY IMAP4rev1] ready\r\n');
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const b = createRimapBackend({ server: config((server.address() as { port: number }).port), passwdFile: passwd, concurrency: 2 });
  await assert.rejects(b.verify!(req('alice'), Buffer.from('pw'), {}), (e: Error) => e instanceof TempFail && /UNAVAILABLE/.test(e.message));
});

test('accounts for the checkpassword program are system accounts; the cache is stamped by the server and lives rimap_cache_ttl', () => {
  const b = createRimapBackend({ server: config(143, { cacheTtlMs: 7000 }), passwdFile: passwd, concurrency: 2 });
  assert.equal((b.lookup(req('alice')) as { uid?: number } | undefined)?.uid, 1000);
  assert.equal(b.lookup(req('bob')), undefined);
  assert.equal(b.generation!(req('alice')), '127.0.0.1/143/none');
  assert.equal(b.cacheLifetimeMs!(req('alice')), 7000);
});

test('start: a CA file that cannot be read stops it; the server is not asked', () => {
  const missing = createRimapBackend({ server: config(1, { tls: 'imaps', caFile: join(dir, 'nope.pem') }), passwdFile: passwd, concurrency: 2 });
  assert.throws(() => missing.check!(), /cannot stat .*nope\.pem: ENOENT/);
  const notPem = join(dir, 'not.pem');
  writeFileSync(notPem, 'hello\n');
  assert.throws(() => createRimapBackend({ server: config(1, { tls: 'imaps', caFile: notPem }), passwdFile: passwd, concurrency: 2 }).check!(), /holds no PEM certificate/);
  const system = createRimapBackend({ server: config(1, { tls: 'starttls' }), passwdFile: passwd, concurrency: 2, systemBundles: ['/nonexistent', '/etc/ssl/certs/ca-certificates.crt'] });
  assert.match(system.check!(), /rimap: IMAP server 127\.0\.0\.1\/1 \(starttls, CAs from \/etc\/ssl\/certs\/ca-certificates\.crt\)/);
});
