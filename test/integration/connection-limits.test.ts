import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { askSaslauthd } from '../../src/cli/testsaslauthd.js';
import { decodeReply, encodeRequest } from '../../src/protocol/saslauthd.js';
import { startDaemon, testsaslauthd, type RunningDaemon } from '../helpers/daemon.js';
import { IdleHolder, NOBODY } from '../helpers/idle-holder.js';
import { makeSite, untilSocketmapGrants } from '../helpers/relay-site.js';

const POSTFIX_UID = Number(execFileSync('id', ['-u', 'postfix']).toString());
const POSTFIX_GID = Number(execFileSync('id', ['-g', 'postfix']).toString());

/** Postfix's own socketmap client, run as root or as postfix. */
function postmapQuery(key: string, map: string, uid = 0): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn('postmap', ['-q', key, map], { uid, gid: uid === 0 ? 0 : POSTFIX_GID, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (c: Buffer) => (out += c.toString()));
    p.stderr.on('data', (c: Buffer) => (err += c.toString()));
    p.on('close', (code) => resolve({ code, out: out.trim(), err }));
  });
}

let acceptQueueFull = 0;

/**
 * A connection opened as libsasl opens one: its connect blocks while the
 * listener's accept queue is full. Node's connect does not block, so EAGAIN
 * is waited out here instead.
 */
async function openConn(path: string): Promise<Socket> {
  for (;;) {
    try {
      return await new Promise<Socket>((resolve, reject) => {
        const s = connect(path);
        s.once('connect', () => resolve(s));
        s.once('error', reject);
      });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      acceptQueueFull++;
      await sleep(10);
    }
  }
}

/** Sends one saslauthd request on an open connection; the reply text, or how the connection ended. */
function ask(s: Socket, fields: readonly string[]): Promise<string> {
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0);
    s.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      const r = decodeReply(buf);
      if (r.kind === 'incomplete') return;
      s.destroy();
      resolve(r.kind === 'reply' ? r.text : '<invalid reply>');
    });
    s.on('error', () => undefined);
    s.on('close', () => resolve('<closed>'));
    s.write(encodeRequest(fields));
  });
}

const REFUSAL_LINE = /connections? refused/g;

describe('an ordinary user holding idle connections to both sockets', () => {
  const site = makeSite();
  const dir = site.dir;
  // The holder runs as nobody and must reach the sockets and its script.
  const runDir = join(dir, 'run');
  const socketmap = join(dir, 'relay.socketmap');
  const map = `socketmap:unix:${socketmap}:relay`;
  let d: RunningDaemon;
  let holder: IdleHolder | undefined;

  before(async () => {
    // The limits are the defaults: what a site gets without configuring anything.
    d = await startDaemon({ args: ['-m', runDir], config: [...site.base, 'cache: yes', `relay_socketmap: ${socketmap}`, `relay_file: ${dir}/relayers`].join('\n') });
    assert.equal(await askSaslauthd(d.socket, ['carol', 'carol-pw', 'imap', '', '192.0.2.40;143']), 'OK');
    await untilSocketmapGrants(socketmap, '192.0.2.40');
  });
  after(async () => {
    await holder?.stop();
    await d?.stop();
  });

  test('root, the MTA accounts and a burst of 2,000 logins are served at once; the refusals are logged a bounded number of times', async (t) => {
    const started = performance.now();
    holder = IdleHolder.start(dir, NOBODY, [
      { name: 'mux', path: d.socket, count: 1100 },
      { name: 'socketmap', path: socketmap, count: 600 },
    ]);
    await holder.settled(['mux', 'socketmap'], [1100, 600]);
    const held = holder.state('mux').held + holder.state('socketmap').held;
    t.diagnostic(`nobody holds ${holder.state('mux').held} mux and ${holder.state('socketmap').held} socketmap connections`);
    assert.ok(held <= 32, `nobody holds ${held} connections, over max_connections_per_user`);
    const attempts = () => holder!.state('mux').attempts + holder!.state('socketmap').attempts;
    const attemptsBefore = attempts();

    // A trusted account is not held to nobody's count: Postfix's smtpd processes may keep many socketmap connections.
    const mta = IdleHolder.start(dir, POSTFIX_UID, [{ name: 'socketmap', path: socketmap, count: 100 }], POSTFIX_GID);
    try {
      await mta.settled(['socketmap'], [100]);
      assert.equal(mta.state('socketmap').held, 100, 'postfix holds all of its 100 connections');
    } finally {
      await mta.stop();
    }

    // The real Cyrus client, as root.
    for (let i = 0; i < 10; i++) {
      const r = await testsaslauthd(d.socket, 'carol', 'carol-pw', ['-s', 'smtp']);
      assert.equal(r.code, 0, `login ${i}: ${r.stdout}${r.stderr}`);
    }
    // Postfix's socketmap client, as root and as postfix (a default trusted user).
    for (const uid of [0, POSTFIX_UID, 0, POSTFIX_UID]) {
      assert.deepEqual(await postmapQuery('192.0.2.40', map, uid), { code: 0, out: 'OK', err: '' }, `as uid ${uid}`);
      const miss = await postmapQuery('198.51.100.9', map, uid);
      assert.deepEqual([miss.code, miss.err], [1, ''], `as uid ${uid}`);
    }

    // 2,000 logins from the MTA at once: every connection open before any request is sent.
    const conns: Socket[] = [];
    try {
      while (conns.length < 2000) conns.push(...(await Promise.all(Array.from({ length: 100 }, () => openConn(d.socket)))));
      const replies = await Promise.all(conns.map((s) => ask(s, ['carol', 'carol-pw', 'smtp', ''])));
      const notOk = replies.filter((r) => r !== 'OK');
      assert.equal(notOk.length, 0, `${notOk.length} of 2000 not OK, e.g. ${notOk[0]}`);
      t.diagnostic(`2000 logins at once: all OK; the accept queue was full ${acceptQueueFull} times while they connected`);
    } finally {
      for (const s of conns) s.destroy();
    }
    assert.ok(attempts() > attemptsBefore, 'nobody kept reconnecting all along');
    assert.ok(holder.state('mux').closed + holder.state('socketmap').closed > 1000, 'nobody was refused many times');
    await holder.stop();
    const seconds = (performance.now() - started) / 1000;

    // One line when the refusals start, then at most one a period saying how many followed.
    await d.waitForLog(/\d+ more connections? refused/, 15_000);
    const lines = d.logs().match(REFUSAL_LINE) ?? [];
    t.diagnostic(`${lines.length} refusal lines in ${seconds.toFixed(0)} s: ${d.logs().split('\n').filter((l) => /refused/.test(l)).join(' | ')}`);
    assert.ok(lines.length <= 3 + seconds / 10, `${lines.length} refusal lines in ${seconds.toFixed(0)} s`);
  });
});
