import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseSaslauthdArgs } from '../../../src/config/config.js';
import { tempDir } from '../../helpers/fixtures.js';

test('mech vpopmail: settings from a URL or a vpopmail.mysql file, and clear errors', () => {
  const dir = tempDir();
  const conf = join(dir, 'saslauthd.conf');
  const parse = (text: string, env: NodeJS.ProcessEnv = {}) => {
    writeFileSync(conf, text);
    const inv = parseSaslauthdArgs(['-O', conf], env);
    assert.equal(inv.action, 'serve');
    return inv.action === 'serve' ? inv.config.vpopmail! : undefined!;
  };
  const v = parse('mech: vpopmail\nvpopmail_sql: postgres://vp:pw@db.example/vpopmail\nvpopmail_layout: per-domain\nvpopmail_query_timeout: 1.5\n', { VPOPMAIL_DOMAIN: 'Example.COM' });
  assert.deepEqual([v.read.driver, v.layout, v.queryTimeoutMs, v.defaultDomain, v.lastauth, v.clearPasswords], ['pgsql', 'per-domain', 1500, 'example.com', false, false]);
  writeFileSync(join(dir, 'vpopmail.pgsql'), 'localhost|5433|vp|p|w|vpopmail\n');
  const f = parse('mech: vpopmail\nvpopmail_config_file: vpopmail.pgsql\nvpopmail_default_domain: d.example\n');
  assert.deepEqual([f.read.driver, f.read.port, f.read.password, f.defaultDomain], ['pgsql', 5433, 'p|w', 'd.example']);
  assert.throws(() => parse('mech: vpopmail\n'), /needs vpopmail_sql .* or vpopmail_config_file/);
  assert.throws(() => parse('mech: vpopmail\nvpopmail_sql: mysql://u:p@h/d\nvpopmail_config_file: x.mysql\n'), /not both/);
  assert.throws(() => parse('mech: vpopmail\nvpopmail_sql: mysql://u:p@h/d\nvpopmail_layout: flat\n'), /saslauthd.conf:3: expected one of many-domains, per-domain/);
  writeFileSync(join(dir, 'vp.conf'), 'h|0|u|p|d\n');
  assert.throws(() => parse('mech: vpopmail\nvpopmail_config_file: vp.conf\n'), /set vpopmail_driver/);
});
