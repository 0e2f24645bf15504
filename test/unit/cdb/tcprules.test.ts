import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileRules, RulesError } from '../../../src/cdb/tcprules.js';

test('tcprules syntax: what tcprules refuses is refused with the line number', () => {
  assert.deepEqual(compileRules('# c\nnocolon\n1.2.3.4:deny,X="a,b"\t \n').map(([k, d]) => [k.toString(), d.toString()]), [['1.2.3.4', 'D\0+X=a,b\0']]);
  for (const bad of ['x:', 'x:ALLOW', 'x:allow,', 'x:allow,W', 'x:allow,X="a', 'x:allow,X="a"junk', 'x:deny,deny', 'x:allow\r', '1.2.3.a-b:allow']) {
    assert.throws(() => compileRules(`ok:allow\n${bad}\n`), (err: Error) => err instanceof RulesError && /line 2/.test(err.message), bad);
  }
});

