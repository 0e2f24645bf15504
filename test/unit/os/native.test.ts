import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadNativeFrom, requireNative } from '../../../src/os/native.js';
import { REPO } from '../../helpers/daemon.js';

test('koffi and unix-dgram load from this checkout, and from a directory named for them', () => {
  assert.equal(typeof (requireNative('koffi') as { load: unknown }).load, 'function');
  loadNativeFrom(REPO);
  assert.equal(typeof (requireNative('unix-dgram') as { createSocket: unknown }).createSocket, 'function');
});

test('a directory without them: the error names where it looked and what can name another', () => {
  loadNativeFrom('/nonexistent/authmux');
  assert.throws(() => requireNative('koffi'), /^Error: cannot load koffi from \/nonexistent\/authmux\/node_modules \(AUTHMUX_HOME can name a directory that holds it\): Cannot find module 'koffi'$/);
  loadNativeFrom(REPO);
});
