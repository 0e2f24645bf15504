import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfFile } from '../../../src/config/conf-file.js';

test('config file: comments, lowercased keys, value trimmed; bad lines name file and line', () => {
  const e = parseConfFile('# c\n\n  Mech: shadow  \ncache_ttl:60\n', 'f.conf');
  assert.deepEqual(e.map((x) => [x.key, x.value, x.line]), [['mech', 'shadow', 3], ['cache_ttl', '60', 4]]);
  assert.throws(() => parseConfFile('mech shadow\n', 'f.conf'), /f\.conf:1/);
  assert.throws(() => parseConfFile('ok: 1\nmech :shadow\n', 'f.conf'), /f\.conf:2/);
  assert.throws(() => parseConfFile('mech:\n', 'f.conf'), /f\.conf:1: key mech has no value/);
});
