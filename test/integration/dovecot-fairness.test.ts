import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { EtcTree, mkpasswd, tempDir } from '../helpers/fixtures.js';

const NOBODY = 65534;

/**
 * Run as nobody: CONNS connections to the Dovecot socket, each keeping 64
 * wrong-password logins for a slow account in flight and replacing every
 * one answered, for SECONDS.
 */
const FLOOD = `
const net = require('node:net');
const [path, conns, seconds] = process.argv.slice(2);
const login = Buffer.from('\\0slow\\0wrong').toString('base64');
const end = Date.now() + Number(seconds) * 1000;
for (let c = 0; c < Number(conns); c++) {
  const s = net.connect(path);
  let id = 0;
  const ask = () => s.write('AUTH\\t' + (++id) + '\\tPLAIN\\tservice=smtp\\tresp=' + login + '\\n');
  let buf = '';
  s.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\\n')) >= 0) {
      const line = buf.slice(0, i); buf = buf.slice(i + 1);
      if (line === 'DONE') for (let k = 0; k < 64; k++) ask();
      else if (/^(OK|FAIL)\\t/.test(line) && Date.now() < end) ask();
    }
  });
  s.on('error', () => {});
}
setTimeout(() => process.exit(0), Number(seconds) * 1000);
`;

/** One PLAIN login over the Dovecot protocol, as the MTA sends it; the reply line. */
function dovecotLogin(path: string, user: string, password: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    let buf = '';
    let asked = false;
    s.on('data', (d) => {
      buf += d.toString('latin1');
      if (buf.includes('DONE\n') && !asked) {
        asked = true;
        s.write(`VERSION\t1\t2\nCPID\t1\nAUTH\t1\tPLAIN\tservice=smtp\tresp=${Buffer.from(`\0${user}\0${password}`).toString('base64')}\n`);
      }
      const m = /\n((?:OK|FAIL)\t1\t[^\n]*)\n/.exec(buf);
      if (m) {
        s.destroy();
        resolve(m[1]!);
      }
    });
    s.on('error', reject);
  });
}

describe('one local user filling the hash queue does not hold up the MTA', () => {
  const base = tempDir('authmux-fair-');
  chmodSync(base, 0o755);
  const etc = new EtcTree(join(base, 'root'));
  etc.addUser({ name: 'carol', uid: 4242, home: '/tmp' });
  etc.addUser({ name: 'slow', uid: 4243, home: '/tmp' });
  etc.chpasswd('SHA512', [['carol', 'carol-pw']]);
  // About 60 ms a check: 8 x 64 of them queued are many seconds of work for two cores.
  etc.setHash('slow', mkpasswd('sha-512', 'slow-pw', 200_000));
  const runDir = join(base, 'run');
  const socket = join(runDir, 'auth');
  const script = join(base, 'flood.cjs');
  writeFileSync(script, FLOOD, { mode: 0o644 });
  let d: RunningDaemon;

  before(async () => {
    d = await startDaemon({
      args: ['-m', runDir, '-a', 'shadow', '-n', '2'],
      // Mode 0666: the attack assumes the socket reachable by any local user.
      config: [`passwd_file: ${etc.passwd}`, `shadow_file: ${etc.shadow}`, `dovecot_socket: ${socket}`, 'dovecot_socket_mode: 0666', 'request_timeout: 30', 'idle_timeout: 30'].join('\n'),
    });
  });
  after(async () => {
    await d?.stop();
  });

  test("root's login is checked ahead of hundreds of nobody's queued ones", async () => {
    const flood = spawn(process.execPath, [script, socket, '8', '12'], { uid: NOBODY, gid: NOBODY, stdio: 'ignore' });
    try {
      await sleep(1500);
      const t0 = performance.now();
      assert.match(await dovecotLogin(socket, 'carol', 'carol-pw'), /^OK\t1\tuser=carol/);
      const ms = performance.now() - t0;
      // Behind the queue it would wait for about 500 slow checks, 15 s and more on two cores; ahead of it, for
      // the few already running.
      assert.ok(ms < 5000, `the MTA's login took ${ms.toFixed(0)} ms`);
    } finally {
      flood.kill();
    }
  });
});
