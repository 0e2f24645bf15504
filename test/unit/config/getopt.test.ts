import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../../src/config/errors.js';
import { getopt } from '../../../src/config/getopt.js';

test('getopt: clusters, attached and separate values, -- and operands', () => {
  const o = getopt(['-cd', '-ashadow', '-m', '/r', '--', '-x'], 'a:cdm:');
  assert.deepEqual([...o.last.entries()], [['c', true], ['d', true], ['a', 'shadow'], ['m', '/r']]);
  assert.deepEqual(o.operands, ['-x']);
  assert.throws(() => getopt(['-q'], 'a:'), ConfigError);
  assert.throws(() => getopt(['-a'], 'a:'), /requires a value/);
});
