import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMetricsListen } from '../../../src/config/metrics-listen.js';

test('metrics_listen: host:port, [v6]:port or an absolute socket path', () => {
  assert.deepEqual(parseMetricsListen('127.0.0.1:9167', 'f:1'), { kind: 'tcp', host: '127.0.0.1', port: 9167 });
  assert.deepEqual(parseMetricsListen('[::1]:9167', 'f:1'), { kind: 'tcp', host: '::1', port: 9167 });
  assert.deepEqual(parseMetricsListen('localhost:80', 'f:1'), { kind: 'tcp', host: 'localhost', port: 80 });
  assert.deepEqual(parseMetricsListen('/run/saslauthd/metrics', 'f:1'), { kind: 'unix', path: '/run/saslauthd/metrics' });
});

test('metrics_listen: what it refuses names the file and line', () => {
  assert.throws(() => parseMetricsListen('run/metrics', 'f:3'), /^ConfigError: f:3: "run\/metrics": a socket path must be absolute/);
  assert.throws(() => parseMetricsListen('9167', 'f:3'), /f:3: expected host:port or an absolute socket path/);
  assert.throws(() => parseMetricsListen('::1:9167', 'f:3'), /f:3: write an IPv6 address in brackets/);
  assert.throws(() => parseMetricsListen('127.0.0.1:0', 'f:3'), /f:3: port "0"/);
  assert.throws(() => parseMetricsListen('127.0.0.1:65536', 'f:3'), /port "65536"/);
  assert.throws(() => parseMetricsListen('127.0.0.1:', 'f:3'), /port ""/);
  assert.throws(() => parseMetricsListen('bad host:80', 'f:3'), /"bad host" is no host name/);
});
