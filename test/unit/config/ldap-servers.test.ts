import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseLdapServers } from '../../../src/config/ldap-servers.js';

test('ldap_servers: URIs in order, ldapi sockets percent-encoded, IPv6 in brackets', () => {
  assert.deepEqual(
    parseLdapServers('ldaps://a.example:1636/ ldap://[2001:db8::1] ldapi://%2Frun%2Fslapd%2Fldapi ldapi:///,LDAP://b', 'k'),
    [
      { uri: 'ldaps://a.example:1636/', scheme: 'ldaps', host: 'a.example', port: 1636 },
      { uri: 'ldap://[2001:db8::1]', scheme: 'ldap', host: '2001:db8::1', port: 389 },
      { uri: 'ldapi://%2Frun%2Fslapd%2Fldapi', scheme: 'ldapi', host: 'localhost', port: 0, socketPath: '/run/slapd/ldapi' },
      { uri: 'ldapi:///', scheme: 'ldapi', host: 'localhost', port: 0, socketPath: '/var/run/slapd/ldapi' },
      { uri: 'LDAP://b', scheme: 'ldap', host: 'b', port: 389 },
    ],
  );
  assert.throws(() => parseLdapServers('ldap://h/dc=example', 'f:1'), /f:1: ldap:\/\/h\/dc=example: only scheme, host and port are read here; put the base DN in ldap_search_base/);
  assert.throws(() => parseLdapServers('http://h/', 'f:1'), /is not an ldap:\/\/, ldaps:\/\/ or ldapi:\/\/ URI/);
  assert.throws(() => parseLdapServers('ldap://h:70000/', 'f:1'), /port 70000 is out of range/);
  assert.throws(() => parseLdapServers('ldapi://run%2Fx', 'f:1'), /absolute path/);
});
