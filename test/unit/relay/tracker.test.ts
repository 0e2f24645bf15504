import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AddressSet } from '../../../src/net/address.js';
import { RelayTracker } from '../../../src/relay/tracker.js';
import type { RelayConfig } from '../../../src/config/relay.js';
import type { RelayStore } from '../../../src/relay/store.js';

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

test('what a shared store holds that no login made never reaches a published map or the socketmap', async () => {
  const config: RelayConfig = {
    store: 'redis', ttlS: 100, ignore: new AddressSet(['127.0.0.0/8']), services: new Set(['pop3']),
    file: '', redis: { kind: 'server', url: 'redis://127.0.0.1' }, redisPrefix: '', datagram: undefined, socketmap: undefined, textMap: undefined,
    rebuildCommand: undefined, cdb: undefined, cdbRules: undefined, expireIntervalMs: 1000,
  };
  const store = memoryStore();
  const t = new RelayTracker(config, store, [], quiet, () => 1000);
  for (const key of ['192.0.2.1', '10', '172.16', '0.0.0.0', '224.0.0.1', '203.0.113.1 1\n172.16', '::ffff:192.0.2.9', 'ff02::1']) store.map.set(key, 999);
  assert.deepEqual((await t.live()).map(([ip]) => ip), ['192.0.2.1']);
  assert.equal(await t.isLive('0.0.0.0'), false);
  assert.equal(await t.isLive('224.0.0.1'), false);
  assert.equal(await t.isLive('192.0.2.1'), true);
});
