import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { Abandoned, VerifyQueue } from '../../src/work-queue.js';

function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

test('at most `limit` jobs run at once; the rest start in arrival order', async () => {
  const q = new VerifyQueue(2);
  const gates = Array.from({ length: 5 }, gate);
  const started: number[] = [];
  let running = 0;
  let peak = 0;
  const done = gates.map((g, i) => q.run(async () => {
    started.push(i);
    peak = Math.max(peak, ++running);
    await g.promise;
    running--;
    return i;
  }));
  await tick();
  assert.deepEqual(started, [0, 1]);
  assert.equal(q.queued, 3);
  gates[1]!.open();
  await tick();
  await tick();
  assert.deepEqual(started, [0, 1, 2]);
  for (const g of gates) g.open();
  assert.deepEqual(await Promise.all(done), [0, 1, 2, 3, 4]);
  assert.equal(peak, 2);
});

test('a job whose client left while it waited never runs, and frees its place at once', async () => {
  const q = new VerifyQueue(1);
  const first = gate();
  const ran: string[] = [];
  const a = q.run(async () => {
    ran.push('a');
    await first.promise;
  });
  const leaving = new AbortController();
  const b = q.run(async () => void ran.push('b'), leaving.signal);
  const c = q.run(async () => void ran.push('c'));
  leaving.abort();
  await assert.rejects(b, Abandoned);
  first.open();
  await a;
  await c;
  assert.deepEqual(ran, ['a', 'c']);
  await assert.rejects(q.run(async () => ran.push('d'), AbortSignal.abort()), Abandoned);
  assert.deepEqual(ran, ['a', 'c']);
});

test('a job that fails frees its place for the next', async () => {
  const q = new VerifyQueue(1);
  const bad = q.run(async () => {
    throw new Error('boom');
  });
  const good = q.run(async () => 'ok');
  await assert.rejects(bad, /boom/);
  assert.equal(await good, 'ok');
});

test("a trusted peer's check goes before everyone else's waiting ones, and those still run in order after", async () => {
  const q = new VerifyQueue(1);
  const first = gate();
  const ran: string[] = [];
  const a = q.run(async () => {
    ran.push('a');
    await first.promise;
  });
  // Another local user fills the queue; then the MTA asks.
  const others = ['x1', 'x2', 'x3'].map((n) => q.run(async () => void ran.push(n)));
  const mta = q.run(async () => void ran.push('mta'), undefined, true);
  first.open();
  await Promise.all([a, mta, ...others]);
  assert.deepEqual(ran, ['a', 'mta', 'x1', 'x2', 'x3']);
});
