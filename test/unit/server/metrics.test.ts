import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Logger } from '../../../src/log.js';
import { Metrics } from '../../../src/server/metrics.js';
import { tempDir } from '../../helpers/fixtures.js';
import { promtool, sample, scrape } from '../../helpers/scrape.js';

function recorder(): { log: Logger; warnings: string[] } {
  const warnings: string[] = [];
  const none = () => undefined;
  return { warnings, log: { debug: none, info: none, warn: (m) => warnings.push(m), error: none, close: none } };
}

const live = () => Promise.resolve([] as Array<[string, number]>);

test('requests by door, mechanism and result; durations by door; cache, backend errors, penalties, relay', async () => {
  let entries = 3;
  const m = new Metrics({ cacheEntries: () => entries });
  m.request('saslauthd', 'shadow', 'ok', 0.002, false);
  m.request('saslauthd', 'shadow', 'ok', 0.0001, true);
  m.request('saslauthd', 'shadow', 'fail', 0.03, false);
  m.request('dovecot', 'sasldb', 'tempfail', 0.5, false);
  // Left while held back by the penalty: never checked.
  m.request('checkpassword', 'penalty', 'tempfail', undefined, undefined);
  m.penalised();
  const relay = m.relayPublisher();
  relay.changed({ kind: 'grant', ip: '192.0.2.1', at: 1, until: 2 }, live);
  relay.changed({ kind: 'grant', ip: '192.0.2.2', at: 1, until: 2 }, live);
  relay.changed({ kind: 'revoke', ips: ['192.0.2.1', '192.0.2.2'], why: 'expired' }, live);
  relay.changed({ kind: 'revoke', ips: ['192.0.2.3'], why: 'deleted' }, live);
  relay.changed({ kind: 'refresh' }, live);
  entries = 7;
  const { body, contentType } = await m.exposition();
  assert.match(contentType, /^text\/plain; version=0\.0\.4/);
  assert.equal(sample(body, 'authmux_auth_requests_total', '{door="saslauthd",mech="shadow",result="ok"}'), 2);
  assert.equal(sample(body, 'authmux_auth_requests_total', '{door="saslauthd",mech="shadow",result="fail"}'), 1);
  assert.equal(sample(body, 'authmux_auth_requests_total', '{door="saslauthd",mech="shadow",result="tempfail"}'), 0);
  assert.equal(sample(body, 'authmux_auth_requests_total', '{door="dovecot",mech="sasldb",result="tempfail"}'), 1);
  assert.equal(sample(body, 'authmux_auth_requests_total', '{door="checkpassword",mech="penalty",result="tempfail"}'), 1);
  assert.equal(sample(body, 'authmux_auth_duration_seconds_count', '{door="saslauthd"}'), 3);
  assert.equal(sample(body, 'authmux_auth_duration_seconds_bucket', '{le="0.001",door="saslauthd"}'), 1);
  assert.equal(sample(body, 'authmux_auth_duration_seconds_count', '{door="dovecot"}'), 1);
  assert.equal(sample(body, 'authmux_auth_duration_seconds_count', '{door="checkpassword"}'), 0, 'a door that checked nothing has its series at 0');
  assert.equal(sample(body, 'authmux_cache_hits_total'), 1);
  assert.equal(sample(body, 'authmux_cache_misses_total'), 3);
  assert.equal(sample(body, 'authmux_cache_entries'), 7, 'read at the scrape');
  assert.equal(sample(body, 'authmux_backend_errors_total', '{mech="sasldb"}'), 1);
  assert.equal(sample(body, 'authmux_backend_errors_total', '{mech="penalty"}'), undefined, 'a client gone while penalised is no backend error');
  assert.equal(sample(body, 'authmux_penalty_delayed_total'), 1);
  assert.equal(sample(body, 'authmux_relay_grants_total'), 2);
  assert.equal(sample(body, 'authmux_relay_expiries_total'), 2);
  assert.ok(sample(body, 'authmux_process_resident_memory_bytes')! > 0);
  assert.ok(sample(body, 'authmux_nodejs_heap_size_used_bytes')! > 0);
  const check = await promtool(body);
  assert.equal(check.code, 0, check.output);
  await m.close();
});

test('HTTP: GET /metrics only, on loopback quietly; another address is warned about; closed on close()', async () => {
  const m = new Metrics({ cacheEntries: () => 0 });
  const { log, warnings } = recorder();
  await m.listen({ kind: 'tcp', host: '127.0.0.1', port: 0 }, log);
  const at = m.address!;
  assert.match(at, /^127\.0\.0\.1:\d+$/);
  assert.deepEqual(warnings, []);
  const ok = await scrape(at);
  assert.equal(ok.status, 200);
  assert.match(ok.body, /^# HELP authmux_auth_requests_total /m);
  assert.equal((await scrape(at, '/metrics?x=1')).status, 200);
  assert.equal((await scrape(at, '/')).status, 404);
  assert.equal((await scrape(at, '/metrics/x')).status, 404);
  assert.equal((await scrape(at, '/metrics', 'POST')).status, 404);
  await m.close();
  await assert.rejects(scrape(at), /ECONNREFUSED/);

  const wide = new Metrics({ cacheEntries: () => 0 });
  await wide.listen({ kind: 'tcp', host: '0.0.0.0', port: 0 }, log);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /^metrics on 0\.0\.0\.0:\d+, beyond loopback: anyone who reaches it sees login counts/);
  await wide.close();
});

test('HTTP on a Unix socket: made 0600, removed on close()', async () => {
  const path = join(tempDir('authmux-metrics-'), 'metrics');
  const m = new Metrics({ cacheEntries: () => 0 });
  await m.listen({ kind: 'unix', path }, recorder().log);
  assert.equal(m.address, path);
  const st = statSync(path);
  assert.ok(st.isSocket());
  assert.equal(st.mode & 0o777, 0o600);
  assert.equal((await scrape(path)).status, 200);
  await m.close();
  assert.equal(existsSync(path), false);
});
