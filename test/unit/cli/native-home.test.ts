import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nativeHome, SYSTEM_HOME } from '../../../src/cli/native-home.js';

const has = (...dirs: string[]) => (dir: string) => dirs.includes(dir);

test('AUTHMUX_HOME wins, even over a checkout that holds the packages', () => {
  assert.equal(nativeHome({ AUTHMUX_HOME: '/opt/authmux' }, '/src/authmux', has('/src/authmux')), '/opt/authmux');
});

test('else the checkout it was packaged in, while that holds koffi', () => {
  assert.equal(nativeHome({}, '/src/authmux', has('/src/authmux')), '/src/authmux');
});

test('else /usr/lib/authmux: the checkout moved, or nothing was recorded; an empty AUTHMUX_HOME counts as unset', () => {
  assert.equal(nativeHome({}, '/src/authmux', has()), SYSTEM_HOME);
  assert.equal(nativeHome({ AUTHMUX_HOME: '' }, undefined, has()), SYSTEM_HOME);
  assert.equal(SYSTEM_HOME, '/usr/lib/authmux');
});
