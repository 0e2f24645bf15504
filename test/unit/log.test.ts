import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import { createLogger } from '../../src/log.js';
import { tempDir } from '../helpers/fixtures.js';

const require = createRequire(import.meta.url);

test('syslog target: RFC 3164 lines with ident saslauthd and facility auth, over a Unix datagram socket', async () => {
  const unix = require('unix-dgram') as {
    createSocket(t: 'unix_dgram', cb: (msg: Buffer) => void): { bind(p: string): void; close(): void; on(e: string, cb: () => void): void };
  };
  const path = join(tempDir(), 'log');
  const got: string[] = [];
  const server = unix.createSocket('unix_dgram', (msg) => got.push(msg.toString()));
  server.bind(path);
  const log = createLogger({ target: { kind: 'syslog', path }, format: 'text', verbose: false, ident: 'saslauthd' });
  log.info('auth failure: [user=alice] [service=imap] [realm=] [mech=shadow] [reason=password mismatch]');
  log.warn('something odd');
  for (let i = 0; i < 50 && got.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
  log.close();
  server.close();
  assert.equal(got.length, 2);
  assert.match(got[0]!, new RegExp(`^<38>[A-Z][a-z]{2} [ 0-9]\\d \\d\\d:\\d\\d:\\d\\d saslauthd\\[${process.pid}\\]: auth failure: \\[user=alice\\]`));
  assert.match(got[1]!, /^<36>/);
  assert.ok(!got.join('').includes('"level"'), 'syslog gets text, not JSON');
});

test('json format: one pino line per call, with level, message and fields; below the level nothing', async () => {
  const file = join(tempDir(), 'auth.json');
  const log = createLogger({ target: { kind: 'file', path: file }, format: 'json', verbose: false, ident: 'saslauthd' });
  log.debug('hidden');
  log.info('auth failure: [user=a\\x5d]', { user: 'a]', result: 'fail' });
  log.error('broken');
  log.close();
  const lines = (await import('node:fs')).readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(lines.length, 2);
  assert.deepEqual([lines[0]!['level'], lines[0]!['msg'], lines[0]!['user'], lines[0]!['ident']], [30, 'auth failure: [user=a\\x5d]', 'a]', 'saslauthd']);
  assert.equal(lines[1]!['level'], 50);
});

test('text format to a file: one rendered line per call, no JSON', async () => {
  const file = join(tempDir(), 'auth.log');
  const log = createLogger({ target: { kind: 'file', path: file }, format: 'text', verbose: true, ident: 'saslauthd' });
  log.debug('d');
  log.warn('w', { ignored: true });
  log.close();
  const text = (await import('node:fs')).readFileSync(file, 'utf8');
  assert.match(text, new RegExp(`^\\d{4}-\\d\\d-\\d\\dT[^ ]+Z saslauthd\\[${process.pid}\\]: debug: d\\n[^ ]+ saslauthd\\[${process.pid}\\]: warning: w\\n$`));
});
