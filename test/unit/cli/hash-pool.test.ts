import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hashPoolThreads } from '../../../src/cli/hash-pool.js';

test('the pool size already in the environment stands; without one, -n is set there and returned', () => {
  const env: NodeJS.ProcessEnv = {};
  assert.equal(hashPoolThreads(7, env), 7);
  assert.equal(env['UV_THREADPOOL_SIZE'], '7');
  assert.equal(hashPoolThreads(3, { UV_THREADPOOL_SIZE: '12' }), 12, 'set before start (bin/authmux, a serving process): the pool this process has');
  assert.equal(hashPoolThreads(3, { UV_THREADPOOL_SIZE: '5000' }), 1024, "libuv's own ceiling");
  const bad: NodeJS.ProcessEnv = { UV_THREADPOOL_SIZE: 'lots' };
  assert.equal(hashPoolThreads(4, bad), 4);
  assert.equal(bad['UV_THREADPOOL_SIZE'], '4');
  assert.equal(hashPoolThreads(0, {}), 1);
});
