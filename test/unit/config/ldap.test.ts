import assert from 'node:assert/strict';
import { test } from 'node:test';
import { confFile, serve } from '../../helpers/config-files.js';

const ldap = (text: string) => serve(['-a', 'ldap', '-O', confFile(text)]).ldap!;

test('saslauthd\'s defaults (LDAP_SASLAUTHD, lak.c)', () => {
  const c = ldap('');
  assert.deepEqual(c.servers, [{ uri: 'ldap://localhost/', scheme: 'ldap', host: 'localhost', port: 389 }]);
  assert.equal(c.filter.text, '(uid=%u)');
  assert.equal(c.searchBase.text, '');
  assert.equal(c.scope, 'sub');
  assert.equal(c.method, 'bind');
  assert.equal(c.bind, undefined);
  assert.equal(c.passwordAttr, 'userPassword');
  assert.equal(c.timeoutMs, 5000);
  assert.equal(c.timeLimitS, 5);
  assert.equal(c.sizeLimit, 1);
  assert.equal(c.deref, 'never');
  assert.equal(c.referrals, false);
  assert.equal(c.startTls, false);
  assert.equal(c.tls.checkPeer, true);
  assert.equal(c.group, undefined);
  assert.equal(c.defaultRealm, '');
  assert.equal(c.cacheTtlMs, 0);
});

test('aliases, the service account and StartTLS are checked together', () => {
  const c = ldap('ldap_bind_dn: cn=r,dc=x\nldap_bind_pw: pw\nldap_default_domain: example.org\n');
  assert.deepEqual(c.bind, { dn: 'cn=r,dc=x', password: 'pw' });
  assert.equal(c.defaultRealm, 'example.org');
  assert.throws(() => ldap('ldap_password: a\nldap_bind_pw: b\nldap_bind_dn: cn=r\n'), /:2: ldap_bind_pw and ldap_password \(.*:1\) are the same setting; keep one/);
  assert.throws(() => ldap('ldap_default_realm: a\nldap_default_domain: b\n'), /are the same setting/);
  assert.throws(() => ldap('ldap_bind_dn: cn=r,dc=x\n'), /:1: ldap_bind_dn needs ldap_password; without one the bind would be unauthenticated/);
  assert.throws(() => ldap('ldap_password: x\n'), /:1: a password without ldap_bind_dn/);
  assert.throws(() => ldap('ldap_servers: ldaps://h/\nldap_start_tls: yes\n'), /:2: ldap_start_tls with ldaps:\/\/h\/, which is TLS already/);
});

test('ldap_version 3 only; saslauthd\'s SASL and debug keys are refused with -a ldap, named, not ignored', () => {
  assert.throws(() => ldap('ldap_version: 2\n'), /:1: LDAP version 2 is not supported/);
  assert.equal(ldap('ldap_version: 3\n').servers.length, 1);
  for (const [line, why] of [
    ['ldap_use_sasl: yes', /ldap_use_sasl is not supported: SASL binds/],
    ['ldap_mech: DIGEST-MD5', /ldap_mech is not supported/],
    ['ldap_id: alice', /ldap_id is not supported/],
    ['ldap_authz_id: u:bob', /ldap_authz_id is not supported/],
    ['ldap_realm: EXAMPLE', /ldap_realm is not supported/],
    ['ldap_sasl_secprops: noplain', /ldap_sasl_secprops is not supported/],
    ['ldap_restart: no', /ldap_restart is not supported/],
    ['ldap_debug: 255', /ldap_debug is not supported/],
  ] as const) {
    assert.throws(() => ldap(`ldap_servers: ldap://h/\n${line}\n`), new RegExp(`:2: ${why.source}`), line);
  }
  // At the value that asks for nothing beyond what is done anyway, they load.
  assert.equal(ldap('ldap_use_sasl: no\nldap_restart: yes\nldap_debug: 0\n').servers.length, 1);
  // Another mechanism: a file shared with saslauthd still loads, with a warning.
  assert.match(serve(['-a', 'shadow', '-O', confFile('ldap_mech: GSSAPI\n')]).warnings[0]!, /ldap_mech ignored/);
});

test('group keys: the match method decides which count, and a key it would not read is refused', () => {
  const a = ldap('ldap_group_dn: cn=mail,dc=x\n').group;
  assert.equal(a?.match === 'attr' && `${a.dn.text} ${a.attr}`, 'cn=mail,dc=x uniqueMember');
  assert.match(a?.match === 'attr' ? a.dn.where : '', /saslauthd\.conf:1$/);
  const f = ldap('ldap_search_base: dc=x\nldap_group_match_method: filter\nldap_group_filter: (member=%D)\nldap_group_scope: one\n').group;
  assert.equal(f?.match, 'filter');
  assert.equal(f?.match === 'filter' && f.base.text, 'dc=x', 'the group search starts at ldap_search_base by default');
  assert.equal(f?.match === 'filter' && f.scope, 'one');
  assert.throws(() => ldap('ldap_group_attr: member\n'), /:1: ldap_group_attr without ldap_group_dn or ldap_group_filter checks nothing/);
  assert.throws(() => ldap('ldap_group_filter: (member=%D)\n'), /ldap_group_filter is read only with ldap_group_match_method: filter/);
  assert.throws(() => ldap('ldap_group_match_method: filter\nldap_group_dn: cn=g\n'), /ldap_group_match_method: filter needs ldap_group_filter/);
  assert.throws(() => ldap('ldap_group_match_method: filter\nldap_group_filter: (x=%D)\nldap_group_attr: member\n'), /ldap_group_attr is read only with ldap_group_match_method: attr/);
  assert.throws(() => ldap('ldap_scope: subtree\n'), /:1: expected one of sub, one, base/);
  assert.throws(() => ldap('ldap_password_attr: user password\n'), /is not an attribute name/);
});

