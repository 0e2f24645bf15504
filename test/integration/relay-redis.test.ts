import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { PrivateRedisCluster } from '../helpers/redis-cluster.js';
import { SocketmapClient } from '../helpers/socketmap-client.js';
import { login, makeSite, relayCli, until } from '../helpers/relay-site.js';

describe('relay grants in Redis, shared by two daemons', () => {
  const site = makeSite();
  const prefix = `authmux-test-${randomBytes(4).toString('hex')}:`;
  const lines = [...site.base, 'relay_store: redis', 'relay_redis: redis://127.0.0.1:6379/0', `relay_redis_prefix: ${prefix}`];
  let a: RunningDaemon;
  let b: RunningDaemon;
  const mapB = join(site.dir, 'b.socketmap');

  before(async () => {
    a = await startDaemon({ config: lines.join('\n') });
    b = await startDaemon({ config: [...lines, `relay_socketmap: ${mapB}`].join('\n') });
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    spawnSync('sh', ['-c', `redis-cli --scan --pattern '${prefix}*' | xargs -r redis-cli del`]);
  });

  test('a POP login on one host opens relay on the other, with a native expiry', async () => {
    const c = await SocketmapClient.open(mapB);
    assert.equal(await c.lookup('192.0.2.77'), 'NOTFOUND ');
    assert.equal(await login(a, 'pop3', '192.0.2.77;110'), 'OK');
    await until('the grant on B', async () => (await c.lookup('192.0.2.77')) === 'OK OK');
    const ttl = Number(execFileSync('redis-cli', ['ttl', `${prefix}192.0.2.77`]).toString());
    assert.ok(ttl > 1700 && ttl <= 1800, `ttl ${ttl}`);
    assert.match((await relayCli(a.configFile, 'list')).stdout, /^192\.0\.2\.77 \d+$/m);
    assert.equal((await relayCli(b.configFile, 'delete', '192.0.2.77')).code, 0);
    assert.equal(await c.lookup('192.0.2.77'), 'NOTFOUND ');
    c.close();
  });

  test('Redis unreachable: the socketmap answers TEMP, logins still succeed', async () => {
    const down = join(site.dir, 'down.socketmap');
    const d = await startDaemon({ config: [...site.base, 'relay_store: redis', 'relay_redis: redis://127.0.0.1:1/0', `relay_socketmap: ${down}`].join('\n') });
    try {
      const c = await SocketmapClient.open(down);
      assert.match(await c.lookup('192.0.2.1'), /^TEMP /);
      assert.equal(await login(d, 'pop3', '192.0.2.1;110'), 'OK');
      c.close();
    } finally {
      await d.stop();
    }
  });
});

describe('relay grants in a Redis cluster', () => {
  const site = makeSite();
  let cluster: PrivateRedisCluster;
  let a: RunningDaemon;
  let b: RunningDaemon;
  const mapB = join(site.dir, 'b.socketmap');

  before(async () => {
    cluster = await PrivateRedisCluster.start();
    const lines = [...site.base, 'relay_store: redis', `relay_redis: ${cluster.url}`];
    a = await startDaemon({ config: lines.join('\n') });
    b = await startDaemon({ config: [...lines, `relay_socketmap: ${mapB}`].join('\n') });
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    cluster?.stop();
  });

  test('grants spread over the cluster\'s masters are seen by the other host and listed from every master', async () => {
    const ips = Array.from({ length: 40 }, (_, i) => `192.0.2.${i + 100}`);
    for (const ip of ips) assert.equal(await login(a, 'imap', `${ip};143`), 'OK');
    const c = await SocketmapClient.open(mapB);
    await until('the grants on B', async () => (await c.lookup(ips[39]!)) === 'OK OK');
    for (const ip of ips) assert.equal(await c.lookup(ip), 'OK OK', ip);
    c.close();
    const perMaster = cluster.ports.map((p) => Number(execFileSync('redis-cli', ['-p', String(p), 'dbsize']).toString()));
    assert.ok(perMaster.filter((n) => n > 0).length >= 2, `keys on the masters: ${perMaster}`);
    const listed = (await relayCli(a.configFile, 'list')).stdout.trim().split('\n').map((l) => l.split(' ')[0]);
    assert.deepEqual(listed.sort(), [...ips].sort());
  });
});
