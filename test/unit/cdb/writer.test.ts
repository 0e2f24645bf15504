import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildCdb, cdbGet } from '../../../src/cdb/writer.js';

test('cdb: every key is found again, the first of duplicates wins', () => {
  const recs: Array<[Buffer, Buffer]> = [];
  for (let i = 0; i < 2000; i++) recs.push([Buffer.from(`key-${i}`), Buffer.from(`value-${i}`)]);
  recs.push([Buffer.from('key-7'), Buffer.from('second')]);
  const db = buildCdb(recs);
  for (let i = 0; i < 2000; i++) assert.equal(cdbGet(db, Buffer.from(`key-${i}`))?.toString(), `value-${i}`);
  assert.equal(cdbGet(db, Buffer.from('absent')), undefined);
  assert.equal(buildCdb([]).length, 2048);
});
