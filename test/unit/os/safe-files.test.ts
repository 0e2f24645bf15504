import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chownSync, chmodSync, closeSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { assertPrivateDir, assertPrivateTree, isSafePathComponent, openAppend } from '../../../src/os/safe-files.js';
import { tempDir } from '../../helpers/fixtures.js';

test('openAppend refuses a planted FIFO at once (no hang), a file of another owner and a link', () => {
  const dir = tempDir();
  const fifo = join(dir, 'fifo.log');
  execFileSync('mkfifo', [fifo]);
  assert.throws(() => openAppend(fifo), /ENXIO|not a regular file/);
  const foreign = join(dir, 'foreign.log');
  writeFileSync(foreign, '');
  chownSync(foreign, 65534, 65534);
  assert.throws(() => openAppend(foreign), /belongs to uid 65534/);
  execFileSync('ln', ['-s', foreign, join(dir, 'link.log')]);
  assert.throws(() => openAppend(join(dir, 'link.log')), /ELOOP/);
  closeSync(openAppend(join(dir, 'ours.log')));
});

test('assertPrivateDir: others-writable refused, sticky only where asked, ancestors sticky allowed, not-yet-made judged by its parent', () => {
  const base = tempDir();
  const open = join(base, 'open');
  mkdirSync(open);
  chmodSync(open, 0o777);
  assert.throws(() => assertPrivateDir(open, 'x'), /writable by every user/);
  assert.throws(() => assertPrivateDir(join(open, 'not-yet'), 'x'), /writable by every user/);
  const sticky = join(base, 'sticky');
  mkdirSync(sticky);
  chmodSync(sticky, 0o1777);
  assert.throws(() => assertPrivateDir(sticky, 'x'), /sticky directory does not stop/);
  assertPrivateDir(sticky, 'x', { sticky: true });
  mkdirSync(join(sticky, 'mine'), { mode: 0o755 });
  assertPrivateDir(join(sticky, 'mine'), 'x');
  assertPrivateDir(base, 'x');
});

test('a path component: no "/", no leading ".", no control characters, not empty', () => {
  for (const ok of ['alice', 'example.com', 'a-b_c', 'x.']) assert.equal(isSafePathComponent(ok), true, ok);
  for (const bad of ['', '.', '..', '.hidden', 'a/b', '../x', 'a\nb', 'a\x7f']) assert.equal(isSafePathComponent(bad), false, JSON.stringify(bad));
});

test('assertPrivateTree: a file deep inside that another user owns or may write is refused', () => {
  const base = join(tempDir(), 'home');
  const pkg = join(base, 'node_modules', 'koffi', 'build');
  mkdirSync(pkg, { recursive: true, mode: 0o755 });
  const node = join(pkg, 'koffi.node');
  writeFileSync(node, 'x', { mode: 0o644 });
  assertPrivateTree(join(base, 'node_modules', 'koffi'), 'native package koffi');
  chmodSync(node, 0o666);
  assert.throws(() => assertPrivateTree(join(base, 'node_modules', 'koffi'), 'native package koffi'), /koffi\.node belongs to uid 0, mode 0666/);
  chmodSync(node, 0o644);
  chownSync(node, 65534, 65534);
  assert.throws(() => assertPrivateTree(join(base, 'node_modules', 'koffi'), 'native package koffi'), /belongs to uid 65534/);
  chownSync(node, 0, 0);
  chownSync(join(base, 'node_modules'), 65534, 65534);
  assert.throws(() => assertPrivateTree(join(base, 'node_modules', 'koffi'), 'native package koffi'), /belongs to uid 65534/, 'a directory above it counts too');
});
