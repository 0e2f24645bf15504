import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FilterParser } from 'ldapts';
import { compileTemplate, escapeDnValue, escapeFilterValue, expand } from '../../../../src/backends/ldap/template.js';

const tpl = (text: string, allowDn = false) => compileTemplate({ text, where: 'x.conf:3' }, 'ldap_filter', { allowDn });
const values = { login: 'dave@mail.example.org', service: 'imap', realm: 'example.net', dn: 'uid=dave,ou=people,dc=example,dc=org' };

test('every saslauthd token: %u %U %d %1-%9 %s %r %R %D %%', () => {
  assert.equal(expand(tpl('%u|%U|%d|%1|%2|%3|%4|%s|%r|%R|%D|%%', true), values, 'dn'), 'dave@mail.example.org|dave|mail.example.org|org|example|mail||imap|example.net|@example.net|uid=dave,ou=people,dc=example,dc=org|%');
  // Without a domain in the login, %d and %1-%9 come from the realm.
  assert.equal(expand(tpl('%u %U %d %1 %2'), { ...values, login: 'dave' }, 'filter'), 'dave dave example.net net example');
  // No realm either: empty, as saslauthd leaves them.
  assert.equal(expand(tpl('(uid=%U)(dc=%d)(r=%r%R)'), { ...values, login: 'dave', realm: '' }, 'filter'), '(uid=dave)(dc=)(r=)');
  assert.equal(expand(tpl('(uid=%U)(d=%d)'), { ...values, login: 'dave@' }, 'filter'), '(uid=dave)(d=example.net)', 'a login ending in @ names no domain');
});

test('a template that does not parse stops the start, naming where', () => {
  assert.throws(() => tpl('(uid=%x)'), /^ConfigError: x\.conf:3: ldap_filter has %x, which is no token/);
  assert.throws(() => tpl('(uid=%u)%'), /x\.conf:3: ldap_filter ends with a lone %/);
  assert.throws(() => tpl('(member=%D)'), /%D \(the user's DN\) is known only in ldap_group_dn/);
  assert.equal(tpl('(uid=%u)').namesUser, true);
  assert.equal(tpl('(uid=%U)').namesUser, true);
  assert.equal(tpl('(cn=%d)').namesUser, false);
  assert.equal(tpl('(cn=%%u)').namesUser, false);
});

test('filter values are escaped as RFC 4515 says: a login stays one value', () => {
  assert.equal(escapeFilterValue('*)(uid=*'), '\\2a\\29\\28uid=\\2a');
  assert.equal(escapeFilterValue('a\\b\0c'), 'a\\5cb\\00c');
  assert.equal(escapeFilterValue('zoë'), 'zoë');
  for (const login of ['*', '*)(uid=*', 'x)(|(objectClass=*', 'a\\2a', '(', ')']) {
    const filter = expand(tpl('(&(uid=%u)(objectClass=inetOrgPerson))'), { ...values, login }, 'filter');
    // ldapts reads it back as an AND of an equality on exactly that login and the class: no wildcard, no extra term.
    const parsed = FilterParser.parseString(filter) as unknown as { filters: Array<{ attribute: string; value: string; constructor: { name: string } }> };
    assert.equal(parsed.filters.length, 2, login);
    assert.equal(parsed.filters[0]!.constructor.name, 'EqualityFilter', login);
    assert.equal(parsed.filters[0]!.value, login, login);
  }
});

test('DN values are escaped as RFC 4514 says: a login cannot add an RDN or an attribute', () => {
  assert.equal(escapeDnValue('svc,ou=staff'), 'svc\\,ou\\=staff');
  assert.equal(escapeDnValue('a+cn=b'), 'a\\+cn\\=b');
  assert.equal(escapeDnValue('"<x>;\\'), '\\"\\<x\\>\\;\\\\');
  assert.equal(escapeDnValue(' #lead'), '\\ #lead');
  assert.equal(escapeDnValue('#lead'), '\\#lead');
  assert.equal(escapeDnValue('trail '), 'trail\\ ');
  assert.equal(escapeDnValue('a\\ '), 'a\\\\\\ ');
  assert.equal(escapeDnValue('nl\nx'), 'nl\\0ax');
  assert.equal(escapeDnValue('zoë'), 'zoë');
  // In a DN the user's DN (%D) is one already and goes in whole; in a filter it is a value.
  assert.equal(expand(tpl('cn=%U,%D', true), values, 'dn'), 'cn=dave,uid=dave,ou=people,dc=example,dc=org');
  assert.equal(expand(tpl('(member=%D)', true), { ...values, dn: 'cn=a\\2c(b)' }, 'filter'), '(member=cn=a\\5c2c\\28b\\29)');
});
