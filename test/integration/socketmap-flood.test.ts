import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { askSaslauthd } from '../../src/cli/testsaslauthd.js';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { cpuSeconds, MB, openFds, rssBytes } from '../helpers/proc-status.js';
import { makeSite, untilSocketmapGrants } from '../helpers/relay-site.js';
import { SocketmapClient } from '../helpers/socketmap-client.js';

/** What Postfix's own socketmap client gets: exit status and the value printed. */
function postmapQuery(key: string, map: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn('postmap', ['-q', key, map], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (c: Buffer) => (out += c.toString()));
    p.on('close', (code) => resolve({ code, out: out.trim() }));
  });
}

/** Lookups for many addresses, back to back, as one buffer. */
function pipelinedLookups(bytes: number): Buffer {
  const parts: Buffer[] = [];
  let n = 0;
  for (let i = 0; n < bytes; i++) {
    const body = `relay 198.51.${(i >> 8) & 255}.${i & 255}`;
    const b = Buffer.from(`${body.length}:${body},`, 'latin1');
    parts.push(b);
    n += b.length;
  }
  return Buffer.concat(parts);
}

interface FloodResult {
  /** Bytes written to the sockets, taken or not. */
  offered: number;
  /** Connections the daemon closed under us. */
  droppedByDaemon: number;
  connections: number;
}

/**
 * Connections that write lookups as fast as the socket takes them and never
 * read a reply; one the daemon closes is opened again, until `stop` is set.
 */
function flood(path: string, conns: number, perWrite: Buffer, stop: { now: boolean }): Promise<FloodResult> {
  const r: FloodResult = { offered: 0, droppedByDaemon: 0, connections: 0 };
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const s: Socket = connect(path);
      r.connections++;
      // Never read: the replies pile up on the daemon's side, which is the attack.
      s.pause();
      let written = 0;
      const pump = () => {
        while (!stop.now && !s.destroyed) {
          written += perWrite.length;
          if (!s.write(perWrite)) return;
        }
        if (stop.now) s.destroy();
      };
      s.on('connect', pump);
      s.on('drain', pump);
      s.on('error', () => undefined);
      s.on('close', () => {
        r.offered += written;
        if (!stop.now) r.droppedByDaemon++;
        resolve();
      });
    });
  const worker = async () => {
    while (!stop.now) await one();
  };
  return Promise.all(Array.from({ length: conns }, worker)).then(() => r);
}

describe('socketmap clients that pipeline lookups without reading the replies', () => {
  const site = makeSite();
  const dir = site.dir;
  const socketmap = join(dir, 'relay.socketmap');
  const map = `socketmap:unix:${socketmap}:relay`;
  let d: RunningDaemon;

  before(async () => {
    d = await startDaemon({ config: [...site.base, `relay_socketmap: ${socketmap}`, `relay_file: ${dir}/relayers`, 'request_timeout: 2'].join('\n') });
    assert.equal(await askSaslauthd(d.socket, ['carol', 'carol-pw', 'pop3', '', '192.0.2.77;110']), 'OK');
    await untilSocketmapGrants(socketmap, '192.0.2.77');
  });
  after(async () => {
    await d?.stop();
  });

  test('tens of MB offered: the daemon reads only what it can answer, stays small and responsive, and keeps nothing after', async (t) => {
    const pid = d.proc.pid!;
    assert.deepEqual(await postmapQuery('192.0.2.77', map), { code: 0, out: 'OK' });
    const baseRss = rssBytes(pid);
    const baseFds = openFds(pid);
    const baseCpu = cpuSeconds(pid);

    const stop = { now: false };
    const chunk = pipelinedLookups(MB);
    const attack = flood(socketmap, 16, chunk, stop);
    let peakRss = baseRss;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, rssBytes(pid));
      // Before the fix this grew by gigabytes: stop early rather than take the machine with it.
      if (peakRss - baseRss > 600 * MB) stop.now = true;
    }, 50);
    try {
      await sleep(1500);
      // A Postfix lookup (its own client, a fresh connection) is answered while the flood goes on.
      const during = await postmapQuery('192.0.2.77', map);
      const attackStillOn = !stop.now;
      assert.deepEqual(during, { code: 0, out: 'OK' });
      assert.ok(attackStillOn, 'the lookup was answered while the flood was running');
      const again = await SocketmapClient.open(socketmap);
      assert.equal(await again.lookup('198.51.100.1'), 'NOTFOUND ');
      again.close();
      await sleep(6000);
    } finally {
      stop.now = true;
    }
    const r = await attack;
    clearInterval(sampler);
    const offered = r.offered;
    t.diagnostic(`offered ${(offered / MB).toFixed(0)} MB over ${r.connections} connections; ` +
      `${r.droppedByDaemon} closed by the daemon; RSS ${(baseRss / MB).toFixed(0)} -> peak ${(peakRss / MB).toFixed(0)} MB; ` +
      `daemon CPU ${(cpuSeconds(pid) - baseCpu).toFixed(1)} s`);
    assert.ok(offered >= 16 * MB, 'the flood offered tens of MB');
    assert.ok(peakRss - baseRss < 100 * MB, `RSS grew by ${((peakRss - baseRss) / MB).toFixed(0)} MB`);
    assert.ok(r.droppedByDaemon > 0, 'clients that do not read their replies are disconnected');

    // Once the clients are gone, nothing of them stays: no connection, no memory.
    let fds = openFds(pid);
    for (let i = 0; i < 40 && fds > baseFds; i++) {
      await sleep(50);
      fds = openFds(pid);
    }
    assert.ok(fds <= baseFds, `${fds - baseFds} descriptors still held`);
    const afterRss = rssBytes(pid);
    t.diagnostic(`RSS after the clients left: ${(afterRss / MB).toFixed(0)} MB`);
    assert.ok(afterRss - baseRss < 100 * MB, `RSS kept ${((afterRss - baseRss) / MB).toFixed(0)} MB`);
    assert.deepEqual(await postmapQuery('192.0.2.77', map), { code: 0, out: 'OK' });
  });
});
