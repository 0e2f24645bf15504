import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseGrantLines } from '../../../src/relay/grant-lines.js';

test('the relay file: IP timestamp lines, anything else skipped, addresses canonical', () => {
  const m = parseGrantLines('192.0.2.1 1700000000\n2001:DB8::1 1700000001\ngarbage\n999.1.1.1 1\n192.0.2.2\n192.0.2.3 -5\n\n');
  assert.deepEqual([...m], [['192.0.2.1', 1700000000], ['2001:db8::1', 1700000001]]);
});
