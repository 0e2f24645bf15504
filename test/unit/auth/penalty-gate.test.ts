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

test('runAtOnce: a penalised address or one whose fleet count must be asked is not answered at once, nor is its cache asked', async () => {
  const cached = { kind: 'ok', cached: true, mech: 'shadow' } as const;
  const { table, gate: g } = gate();
  await g.run(req('192.0.2.9'), undefined, async () => fail);
  let asked = 0;
  const decide = () => {
    asked++;
    return cached;
  };
  assert.equal(g.runAtOnce(req('192.0.2.9'), decide), undefined, 'a penalised address waits its penalty first');
  assert.equal(asked, 0, 'not even the cache is asked for it');
  // A local user's uid is penalised like an address.
  await g.run({ ...req(), localPeer: 1500 }, undefined, async () => fail);
  assert.equal(g.runAtOnce({ ...req(), localPeer: 1500 }, decide), undefined);
  assert.equal(asked, 0);
  // An address with no penalty: answered.
  const out = g.runAtOnce(req('192.0.2.11'), decide);
  assert.deepEqual(out, { result: cached, penaltyMs: 0 });
  assert.equal(g.runAtOnce(req('192.0.2.12'), () => undefined), undefined, 'no answer at once: the request goes through run()');
  // With a fleet store the count must be asked first: never at once.
  const shared = { failures: async () => 0, failed: () => undefined, succeeded: () => undefined } as unknown as ConstructorParameters<typeof PenaltyGate>[0]['shared'];
  const fleet = new PenaltyGate({ table, exempt: new AddressSet([]), failureDelayMs: 0, shared });
  assert.equal(fleet.runAtOnce(req('192.0.2.13'), decide), undefined);
  assert.deepEqual(fleet.runAtOnce(req(), decide)?.result, cached, 'a request with no address and no uid has no count to ask');
});
