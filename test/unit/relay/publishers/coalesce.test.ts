import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Coalescer } from '../../../../src/relay/publishers/coalesce.js';

test('never two runs at once; changes during a run make exactly one more', async () => {
  let runs = 0;
  let inside = 0;
  const c = new Coalescer(async () => {
    inside++;
    assert.equal(inside, 1);
    runs++;
    await sleep(30);
    inside--;
  }, (e) => assert.fail(e), 5, 10);
  c.poke();
  await sleep(15);
  for (let i = 0; i < 20; i++) c.poke();
  await sleep(5);
  await c.drained();
  assert.equal(runs, 2);
});

test('a steady stream of changes runs the job at most once per its time plus the gap', async () => {
  let runs = 0;
  const c = new Coalescer(async () => {
    runs++;
    await sleep(10);
  }, (e) => assert.fail(e), 5, 100);
  const end = Date.now() + 1000;
  while (Date.now() < end) {
    c.poke();
    await sleep(5);
  }
  await c.drained();
  assert.ok(runs >= 3 && runs <= 11, `${runs} runs in a second of changes every 5 ms`);
});
