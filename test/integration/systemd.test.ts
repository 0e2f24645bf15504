import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { BIN, testsaslauthd } from '../helpers/daemon.js';
import { EtcTree, tempDir } from '../helpers/fixtures.js';

interface Datagrams {
  readonly path: string;
  readonly received: string[];
  /** Resolves with the first datagram from index `from` on that matches. */
  next(re: RegExp, from?: number, timeoutMs?: number): Promise<{ text: string; index: number }>;
  close(): void;
}

/** A datagram socket of the test's own, standing where systemd's NOTIFY_SOCKET would. */
function notifySocket(path: string): Datagrams {
  const unix = createRequire(import.meta.url)('unix-dgram') as {
    createSocket(type: string, onMessage: (msg: Buffer) => void): { bind(path: string): void; close(): void };
  };
  const received: string[] = [];
  const sock = unix.createSocket('unix_dgram', (msg) => received.push(msg.toString()));
  sock.bind(path);
  return {
    path,
    received,
    async next(re, from = 0, timeoutMs = 10_000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const index = received.findIndex((m, i) => i >= from && re.test(m));
        if (index >= 0) return { text: received[index]!, index };
        if (Date.now() > end) throw new Error(`no datagram ${re} after #${from}; got ${JSON.stringify(received)}`);
        await sleep(20);
      }
    },
    close: () => sock.close(),
  };
}

describe('systemd: socket activation by systemd-socket-activate, states to NOTIFY_SOCKET', () => {
  const dir = tempDir('authmux-systemd-');
  const etc = new EtcTree(join(dir, 'root'));
  etc.addUser({ name: 'alice', uid: 5301 });
  etc.chpasswd('SHA512', [['alice', 'alice-pass']]);
  const runDir = join(dir, 'run');
  const socket = join(dir, 'activated-mux');
  let notify: Datagrams;
  let proc: ChildProcess;
  let log = '';

  before(async () => {
    notify = notifySocket(join(dir, 'notify'));
    // systemd-socket-activate binds the socket, as systemd does for authmux.socket, and starts the daemon on the first connection.
    proc = spawn('systemd-socket-activate', ['-l', socket, '--fdname=mux', '-E', `NOTIFY_SOCKET=${notify.path}`, '-E', 'WATCHDOG_USEC=400000', '-E', 'AUTHMUX_CONFIG=', BIN, 'saslauthd', '-f', '-a', 'shadow', '-m', runDir, '-O', join(dir, 'conf')], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PATH: process.env['PATH'] },
    });
    proc.stderr!.on('data', (c: Buffer) => (log += c.toString()));
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(dir, 'conf'), `passwd_file: ${etc.passwd}\nshadow_file: ${etc.shadow}\nlog_target: stderr\n`);
    for (let i = 0; i < 100 && !existsSync(socket); i++) await sleep(20);
  });
  after(() => {
    proc?.kill('SIGTERM');
    notify?.close();
  });

  test('the first connection starts the daemon, which serves it on the passed socket, not one of its own', async () => {
    const ok = await testsaslauthd(socket, 'alice', 'alice-pass');
    assert.equal(ok.stdout, '0: OK "Success."\n', log);
    assert.equal(existsSync(join(runDir, 'mux')), false, 'no socket bound at the run directory');
    assert.match(log, /socket activation: mux \(.*\) on fd 3/);
    assert.ok(statSync(socket).isSocket());
  });

  test('READY=1 once the socket answers, with a STATUS line; WATCHDOG=1 every half WATCHDOG_USEC', async () => {
    const ready = await notify.next(/^READY=1\nSTATUS=\d+ logins decided\nMAINPID=\d+$/);
    const first = await notify.next(/^WATCHDOG=1\nSTATUS=/, ready.index);
    await notify.next(/^WATCHDOG=1\nSTATUS=/, first.index + 1);
  });

  test('SIGHUP: RELOADING=1, then READY=1 again', async () => {
    const from = notify.received.length;
    proc.kill('SIGHUP');
    const reloading = await notify.next(/^RELOADING=1\nMONOTONIC_USEC=\d+$/, from);
    await notify.next(/^READY=1\nSTATUS=\d+ logins decided$/, reloading.index);
    assert.equal((await testsaslauthd(socket, 'alice', 'alice-pass')).code, 0);
  });

  test('SIGTERM: STOPPING=1, and the socket file, systemd\'s, stays', async () => {
    const from = notify.received.length;
    const exited = new Promise((r) => (proc.exitCode !== null ? r(null) : proc.once('exit', r)));
    proc.kill('SIGTERM');
    await notify.next(/^STOPPING=1$/, from);
    await exited;
    assert.ok(existsSync(socket));
  });
});
