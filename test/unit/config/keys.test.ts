import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CONFIG_KEYS, parseSaslauthdArgs } from '../../../src/config/config.js';
import { REPO } from '../../helpers/daemon.js';
import { confFile, serve } from '../../helpers/config-files.js';

test('every config key is documented in saslauthd.conf.example and the README, and the example parses', () => {
  const example = readFileSync(join(REPO, 'saslauthd.conf.example'), 'utf8');
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  for (const k of CONFIG_KEYS) {
    assert.match(example, new RegExp(`^#?${k}:`, 'm'), `${k} in saslauthd.conf.example`);
    assert.ok(readme.includes(`| \`${k}\` |`), `${k} in the README's table`);
  }
  // And the other way: the example holds no key the table does not know.
  const inExample = [...example.matchAll(/^#?([a-z][a-z0-9_]*):(?: |$)/gm)].map((m) => m[1]!);
  assert.ok(inExample.length >= CONFIG_KEYS.length);
  for (const k of inExample) assert.ok((CONFIG_KEYS as readonly string[]).includes(k), `${k} in saslauthd.conf.example is no key`);
  const inv = parseSaslauthdArgs(['-O', join(REPO, 'saslauthd.conf.example')], {});
  assert.equal(inv.action === 'serve' && inv.config.warnings.length, 0);
});

test('an unknown key is an error naming the file, its line and the key most like it; saslauthd\'s LDAP keys are keys', () => {
  const p = confFile('mech: shadow\n# a comment\nrelay_tll: 60\n');
  assert.throws(() => serve(['-O', p]), new RegExp(`${p.replace(/[.]/g, '\\.')}:3: unknown key relay_tll; did you mean relay_ttl\\?`));
  assert.throws(() => serve(['-O', confFile('mech: shadow\ncache_size_kb: 5\n')]), /:2: unknown key cache_size_kb; did you mean cache_size\?/);
  assert.throws(() => serve(['-O', confFile('mech: shadow\nchekpassword_socket: /x\n')]), /did you mean checkpassword_socket\?/);
  assert.equal(serve(['-O', confFile('mech: shadow\nldap_search_base: dc=x\n')]).warnings.length, 0);
  assert.throws(() => serve(['-O', confFile('mech: ldap\nldap_serverz: ldap://x\n')]), /:2: unknown key ldap_serverz; did you mean ldap_servers\?/);
});
