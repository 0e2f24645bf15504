import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileRules, RulesError } from '../../src/cdb/tcprules.js';
import { buildCdb, cdbGet } from '../../src/cdb/writer.js';
import { AddressSet, canonicalIp } from '../../src/net/address.js';
import { netstring, takeNetstring } from '../../src/protocol/netstring.js';
import { parseGrantLines } from '../../src/relay/grant-lines.js';
import type { RelayStore } from '../../src/relay/store.js';
import { RelayTracker } from '../../src/relay/tracker.js';
import type { RelayConfig } from '../../src/config/relay.js';

test('addresses have one spelling: IPv4 as is, IPv6 in RFC 5952 form, IPv4-mapped as IPv4', () => {
  const cases: Array<[string, string | undefined]> = [
    ['192.0.2.7', '192.0.2.7'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:0db8:0000:0000:0001:0000:0000:0001', '2001:db8::1:0:0:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['::', '::'],
    ['::1', '::1'],
    ['::ffff:192.0.2.9', '192.0.2.9'],
    ['::FFFF:c000:0209', '192.0.2.9'],
    ['fe80::1%eth0', undefined],
    ['192.0.2.256', undefined],
    ['01.2.3.4', undefined],
    ['1.2.3', undefined],
    ['', undefined],
    ['192.0.2.1/32', undefined],
    [' 192.0.2.1', undefined],
  ];
  for (const [input, want] of cases) assert.equal(canonicalIp(input), want, input);
});

test('CIDR lists match IPv4 and IPv6 and refuse nonsense', () => {
  const s = new AddressSet(['127.0.0.0/8', '10.1.0.0/16', '2001:db8::/32', '192.0.2.5']);
  assert.equal(s.has('127.9.9.9'), true);
  assert.equal(s.has('10.1.200.1'), true);
  assert.equal(s.has('10.2.0.1'), false);
  assert.equal(s.has('2001:db8:ffff::1'), true);
  assert.equal(s.has('2001:db9::1'), false);
  assert.equal(s.has('192.0.2.5'), true);
  assert.equal(s.has('192.0.2.6'), false);
  for (const bad of ['10.0.0.0/33', 'x/8', '::/129', '10.0.0.0/a']) assert.throws(() => new AddressSet([bad]), /CIDR|prefix/);
});

test('netstrings: complete, partial and malformed', () => {
  assert.deepEqual(netstring('OK OK'), Buffer.from('5:OK OK,'));
  const t = takeNetstring(Buffer.from('11:relay 1.2.3,3:abc,'));
  assert.equal(t.kind, 'one');
  if (t.kind === 'one') {
    assert.equal(t.body.toString(), 'relay 1.2.3');
    assert.equal(t.rest.toString(), '3:abc,');
  }
  for (const partial of ['', '1', '11', '11:', '11:relay', '11:relay 1.2.3']) assert.equal(takeNetstring(Buffer.from(partial)).kind, 'more', partial);
  for (const bad of ['x', ':a,', '3:abcd', '1000001:', '01:a,', '3:abc;']) assert.equal(takeNetstring(Buffer.from(bad)).kind, 'bad', bad);
});

test('the relay file: IP timestamp lines, anything else skipped, addresses canonical', () => {
  const m = parseGrantLines('192.0.2.1 1700000000\n2001:DB8::1 1700000001\ngarbage\n999.1.1.1 1\n192.0.2.2\n192.0.2.3 -5\n\n');
  assert.deepEqual([...m], [['192.0.2.1', 1700000000], ['2001:db8::1', 1700000001]]);
});

test('cdb: every key is found again, the first of duplicates wins', () => {
  const recs: Array<[Buffer, Buffer]> = [];
  for (let i = 0; i < 2000; i++) recs.push([Buffer.from(`key-${i}`), Buffer.from(`value-${i}`)]);
  recs.push([Buffer.from('key-7'), Buffer.from('second')]);
  const db = buildCdb(recs);
  for (let i = 0; i < 2000; i++) assert.equal(cdbGet(db, Buffer.from(`key-${i}`))?.toString(), `value-${i}`);
  assert.equal(cdbGet(db, Buffer.from('absent')), undefined);
  assert.equal(buildCdb([]).length, 2048);
});

test('tcprules syntax: what tcprules refuses is refused with the line number', () => {
  assert.deepEqual(compileRules('# c\nnocolon\n1.2.3.4:deny,X="a,b"\t \n').map(([k, d]) => [k.toString(), d.toString()]), [['1.2.3.4', 'D\0+X=a,b\0']]);
  for (const bad of ['x:', 'x:ALLOW', 'x:allow,', 'x:allow,W', 'x:allow,X="a', 'x:allow,X="a"junk', 'x:deny,deny', 'x:allow\r', '1.2.3.a-b:allow']) {
    assert.throws(() => compileRules(`ok:allow\n${bad}\n`), (err: Error) => err instanceof RulesError && /line 2/.test(err.message), bad);
  }
});

/** A store in memory: the policy test is about decisions, not storage. */
function memoryStore(): RelayStore & { map: Map<string, number> } {
  const map = new Map<string, number>();
  return {
    name: 'memory',
    map,
    put: async (ip, at) => void map.set(ip, at),
    get: async (ip) => map.get(ip),
    remove: async (ips) => ips.filter((ip) => map.delete(ip)),
    entries: async () => [...map],
    expireBefore: async (cutoff) => [...map].filter(([, at]) => at < cutoff).map(([ip]) => (map.delete(ip), ip)),
    close: async () => undefined,
  };
}

const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, close: () => undefined };

test('relay policy: services, ignored addresses, NO_RELAY, malformed addresses; expiry by age', async () => {
  const config: RelayConfig = {
    store: 'file', ttlS: 100, ignore: new AddressSet(['127.0.0.0/8', '::1']), services: new Set(['pop3', 'imap']),
    file: '', redis: { kind: 'server', url: 'redis://127.0.0.1' }, redisPrefix: '', datagram: undefined, socketmap: undefined, textMap: undefined,
    rebuildCommand: undefined, cdb: undefined, cdbRules: undefined, expireIntervalMs: 1000,
  };
  let now = 1000;
  const store = memoryStore();
  const t = new RelayTracker(config, store, [], quiet, () => now);
  const grant = async (service: string, clientIp: string | undefined, mayRelay?: boolean) => (await t.recordLogin({ service, clientIp, mayRelay, user: 'u' })).grant;
  assert.equal(await grant('pop3', '192.0.2.1'), true);
  assert.equal(await grant('IMAP', '::ffff:192.0.2.2'), true);
  assert.equal(await grant('smtp', '192.0.2.3'), false);
  assert.equal(await grant('pop3', '127.0.0.1'), false);
  assert.equal(await grant('pop3', '::1'), false);
  assert.equal(await grant('pop3', undefined), false);
  assert.equal(await grant('pop3', '192.0.2.999'), false);
  // The source's word (vpopmail's NO_RELAY becomes mayRelay false) decides.
  assert.equal(await grant('pop3', '192.0.2.4', false), false);
  assert.equal(await grant('pop3', '192.0.2.5', true), true);
  assert.deepEqual([...store.map.keys()].sort(), ['192.0.2.1', '192.0.2.2', '192.0.2.5']);
  assert.equal(await t.isLive('192.0.2.1'), true);
  now = 1100;
  assert.equal(await t.isLive('192.0.2.1'), false, 'a grant lives relay_ttl seconds');
  assert.deepEqual((await t.expire()).sort(), ['192.0.2.1', '192.0.2.2', '192.0.2.5']);
  await assert.rejects(t.grant('1.2.3.4.5', now), /not an IPv4 or IPv6 address/);
});
