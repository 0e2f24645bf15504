import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tlsOptions } from '../../../../src/backends/ldap/tls.js';
import { tempDir } from '../../../helpers/fixtures.js';
import { makePki } from '../../../helpers/slapd.js';

const none = { checkPeer: true, caFile: undefined, caDir: undefined, certFile: undefined, keyFile: undefined, ciphers: undefined };

test('CA file and directory, client certificate, ciphers: read once; what cannot be read or used stops the start naming the key', () => {
  const pki = makePki(join(tempDir(), 'pki'));
  const o = tlsOptions({ ...none, caFile: pki.caCert, caDir: pki.caDir, certFile: pki.clientCert, keyFile: pki.clientKey, ciphers: 'HIGH' });
  assert.equal(o.rejectUnauthorized, true);
  assert.equal((o.ca as Array<string | Buffer>).length, 2, 'the file, and the one certificate the directory holds (its rehash link read once)');
  assert.deepEqual(o.cert, readFileSync(pki.clientCert));
  assert.equal(tlsOptions({ ...none, checkPeer: false }).rejectUnauthorized, false);
  assert.throws(() => tlsOptions({ ...none, caFile: '/nonexistent/ca.pem' }), /ldap_tls_cacert_file \/nonexistent\/ca\.pem: ENOENT/);
  assert.throws(() => tlsOptions({ ...none, caDir: tempDir() }), /ldap_tls_cacert_dir .*: no PEM certificate in it/);
  assert.throws(() => tlsOptions({ ...none, certFile: pki.clientCert }), /ldap_tls_cert and ldap_tls_key go together/);
  assert.throws(() => tlsOptions({ ...none, ciphers: 'NO-SUCH-CIPHER' }), /LDAP TLS settings \(ldap_tls_\*\): .*cipher/i);
  assert.throws(() => tlsOptions({ ...none, certFile: pki.clientCert, keyFile: pki.serverKey }), /LDAP TLS settings/);
});
