import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { tempDir } from './fixtures.js';

export interface RealSaslauthd {
  readonly socket: string;
  stop(): Promise<void>;
}

/**
 * The real saslauthd from sasl2-bin (`-a mech` and `args`, -d), in a run
 * directory of its own, for reply parity. Its forked workers live in a
 * process group of their own and go with it at stop.
 */
export async function startRealSaslauthd(mech: string, args: readonly string[] = [], workers = 2): Promise<RealSaslauthd> {
  const dir = tempDir(`authmux-real-${mech}-`);
  const proc: ChildProcess = spawn('/usr/sbin/saslauthd', ['-a', mech, '-m', dir, '-n', String(workers), '-d', ...args], { stdio: 'ignore', detached: true });
  const socket = join(dir, 'mux');
  for (let i = 0; i < 100 && !existsSync(socket); i++) await sleep(50);
  assert.ok(existsSync(socket), 'the real saslauthd made its socket');
  return {
    socket,
    stop: () =>
      new Promise<void>((r) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return r();
        proc.once('exit', () => r());
        process.kill(-proc.pid!, 'SIGKILL');
      }),
  };
}
