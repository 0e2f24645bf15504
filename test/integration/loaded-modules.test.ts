import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { startDaemon } from '../helpers/daemon.js';
import { EtcTree, tempDir } from '../helpers/fixtures.js';

// Each process of the daemon carries only the drivers its configuration uses: ioredis alone is some
// 20 MB of a process's memory, and a site without Redis must not pay it in every serving process.
const PROBE = `import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
const loaded = createRequire(import.meta.url).cache;
process.on('exit', () => writeFileSync(process.env.AUTHMUX_TEST_LOADED, Object.keys(loaded).join('\\n')));
`;

async function packagesLoaded(config: string): Promise<string[]> {
  const dir = tempDir('authmux-loaded-');
  const probe = join(dir, 'probe.mjs');
  const out = join(dir, 'loaded.txt');
  writeFileSync(probe, PROBE);
  const d = await startDaemon({ args: ['-a', 'shadow'], config, env: { NODE_OPTIONS: `--import=${probe}`, AUTHMUX_TEST_LOADED: out } });
  assert.equal(await d.stop(), 0);
  // The innermost node_modules names the package a file belongs to.
  return readFileSync(out, 'utf8').split('\n').map((p) => /.*node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(p)?.[1]).filter((p): p is string => p !== undefined);
}

test('ioredis is loaded only when Redis is configured (penalty_store: redis)', async () => {
  const etc = new EtcTree(join(tempDir('authmux-loaded-etc-'), 'root'));
  etc.addUser({ name: 'alice', uid: 5301 });
  etc.chpasswd('SHA512', [['alice', 'alice-pass']]);
  const base = `passwd_file: ${etc.passwd}\nshadow_file: ${etc.shadow}\n`;
  const without = await packagesLoaded(base);
  assert.ok(without.includes('koffi'), `the probe sees the daemon's packages: ${without.join(' ')}`);
  assert.ok(!without.includes('ioredis'), `no Redis configured, yet loaded: ${without.join(' ')}`);
  // Nothing listens on port 1: the counts stay local, but the driver is needed and loaded.
  const withRedis = await packagesLoaded(`${base}penalty_store: redis\nrelay_redis: redis://127.0.0.1:1/0\n`);
  assert.ok(withRedis.includes('ioredis'), withRedis.join(' '));
});
