import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hashPoolThreads, libuvPoolSize } from '../../../src/cli/hash-pool.js';

test('without a size in the environment, -n is set there and returned; a size there is the pool this process has', () => {
  const env: NodeJS.ProcessEnv = {};
  assert.equal(hashPoolThreads(7, env), 7);
  assert.equal(env['UV_THREADPOOL_SIZE'], '7');
  assert.equal(hashPoolThreads(3, { UV_THREADPOOL_SIZE: '12' }), 12);
  assert.equal(hashPoolThreads(0, {}), 1);
});

test("an odd value is read as libuv reads it (atoi into an unsigned int, 0 as 1, at most 1024), so the warning names the pool there is", () => {
  assert.equal(libuvPoolSize('5000'), 1024);
  assert.equal(libuvPoolSize('-1'), 1024);
  assert.equal(libuvPoolSize('abc'), 1);
  assert.equal(libuvPoolSize(''), 1);
  assert.equal(libuvPoolSize('0'), 1);
  assert.equal(libuvPoolSize('2x'), 2);
  assert.equal(libuvPoolSize('8.9'), 8);
  assert.equal(libuvPoolSize(' 6'), 6);
});
