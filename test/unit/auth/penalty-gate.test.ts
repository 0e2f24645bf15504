import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PenaltyGate } from '../../../src/auth/penalty-gate.js';
import { PenaltyTable } from '../../../src/auth/penalty.js';
import type { Decided } from '../../../src/auth/chain.js';
import { AddressSet } from '../../../src/net/address.js';

const fail: Decided = { kind: 'fail', code: 'bad_password', reason: 'password mismatch', mech: 'shadow' };
const ok: Decided = { kind: 'ok', cached: false, mech: 'shadow' };
const req = (clientIp?: string, noPenalty = false) => ({ login: 'u', password: Buffer.from('p'), service: 'smtp', realm: '', ...(clientIp ? { clientIp } : {}), ...(noPenalty ? { noPenalty } : {}) });

function gate(exempt = '127.0.0.0/8') {
  const table = new PenaltyTable({ baseMs: 60_000, maxMs: 60_000, entries: 100, forgetAfterMs: 3_600_000 });
  return { table, gate: new PenaltyGate({ table, exempt: new AddressSet(exempt.split(' ')), failureDelayMs: 0 }) };
}

test('failures are counted per address; trusted addresses, no-penalty requests and requests with no address are not', async () => {
  const { table, gate: g } = gate();
  await g.run(req('192.0.2.1'), undefined, async () => fail);
  assert.equal(table.failures('192.0.2.1'), 1);
  await g.run(req('127.0.0.1'), undefined, async () => fail);
  await g.run(req('192.0.2.2', true), undefined, async () => fail);
  await g.run(req(), undefined, async () => fail);
  assert.equal(table.size, 1);
});

test('a client that hangs up while its address waits ends the wait at once, and nothing is checked', async () => {
  const { gate: g } = gate();
  await g.run(req('192.0.2.7'), undefined, async () => fail);
  const gone = new AbortController();
  let checked = false;
  const started = Date.now();
  const pending = g.run(req('192.0.2.7'), gone.signal, async () => {
    checked = true;
    return ok;
  });
  setTimeout(() => gone.abort(), 20);
  const out = await pending;
  assert.equal(checked, false);
  assert.equal(out.result.kind, 'tempfail');
  assert.ok(Date.now() - started < 30_000, 'the 60 s penalty did not run out');
});

test('a success clears the address', async () => {
  const { table, gate: g } = gate();
  await g.run(req('192.0.2.8'), undefined, async () => fail);
  table.limit(0);
  await g.run(req('192.0.2.8'), undefined, async () => ok);
  assert.equal(table.failures('192.0.2.8'), 0);
});
