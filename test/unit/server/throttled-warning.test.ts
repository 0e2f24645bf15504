import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import type { Logger } from '../../../src/log.js';
import { ThrottledWarning } from '../../../src/server/throttled-warning.js';

function recorder(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const none = () => undefined;
  return { lines, log: { debug: none, info: none, warn: (m) => lines.push(m), error: none, close: none } };
}

test('a flood of refusals is one line at once, then one counted line a period, then quiet', () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    const { log, lines } = recorder();
    const w = new ThrottledWarning(log, { one: 'connection refused', many: 'connections refused' }, 10_000);
    for (let i = 0; i < 1000; i++) w.warn(i % 4 === 0 ? 'max_connections (5) reached' : 'uid 65534 already holds max_connections_per_user (2)');
    assert.deepEqual(lines, ['connection refused: max_connections (5) reached']);
    mock.timers.tick(10_000);
    assert.deepEqual(lines.slice(1), ['999 more connections refused in the last 10 s (750: uid 65534 already holds max_connections_per_user (2); 249: max_connections (5) reached)']);
    w.warn('max_connections (5) reached');
    mock.timers.tick(10_000);
    assert.equal(lines[2], '1 more connection refused in the last 10 s (1: max_connections (5) reached)');
    // A quiet period ends the throttling: the next refusal is logged as it happens.
    mock.timers.tick(10_000);
    assert.equal(lines.length, 3);
    w.warn('max_connections (5) reached');
    assert.equal(lines[3], 'connection refused: max_connections (5) reached');
    w.close();
  } finally {
    mock.timers.reset();
  }
});

test('a summary names the most frequent causes; stopping flushes what was counted', () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    const { log, lines } = recorder();
    const w = new ThrottledWarning(log, { one: 'connection refused', many: 'connections refused' }, 10_000);
    w.warn('first');
    for (let uid = 1; uid <= 6; uid++) for (let i = 0; i < uid; i++) w.warn(`uid ${uid}`);
    w.close();
    assert.equal(lines[1], '21 more connections refused in the last 10 s (6: uid 6; 5: uid 5; 4: uid 4; 3: uid 3; 2 other causes)');
  } finally {
    mock.timers.reset();
  }
});
