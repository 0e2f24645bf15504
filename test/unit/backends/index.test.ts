import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createBackends, keepsPlaintext } from '../../../src/backends/index.js';
import { createLogger } from '../../../src/log.js';
import { confFile, serve } from '../../helpers/config-files.js';

const config = (mechs: string, extra = '') => serve(['-a', mechs, '-O', confFile(`vpopmail_sql: mysql://u:p@127.0.0.1:1/d\n${extra}`)]);

test('CRAM-MD5 needs clear passwords from every mechanism of the chain', () => {
  assert.equal(keepsPlaintext(config('sasldb')), true);
  assert.equal(keepsPlaintext(config('shadow')), false);
  assert.equal(keepsPlaintext(config('sasldb,shadow')), false);
  assert.equal(keepsPlaintext(config('shadow,sasldb')), false);
  assert.equal(keepsPlaintext(config('sasldb,vpopmail')), false);
  assert.equal(keepsPlaintext(config('sasldb,vpopmail', 'vpopmail_clear_passwords: yes\n')), true);
  assert.equal(keepsPlaintext(config('vpopmail', 'vpopmail_clear_passwords: yes\n')), true);
});

test('the sources are opened in the order named', async () => {
  const log = createLogger({ target: { kind: 'stderr' }, format: 'text', verbose: false, ident: 'test' });
  const backends = await createBackends(config('sasldb, getpwent shadow'), log);
  assert.deepEqual(backends.map((b) => b.mech), ['sasldb', 'getpwent', 'shadow']);
});
