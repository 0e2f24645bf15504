import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { encodeRequest } from '../../src/protocol/saslauthd.js';
import { startDaemon, testsaslauthd, type RunningDaemon } from '../helpers/daemon.js';
import { EtcTree, tempDir } from '../helpers/fixtures.js';
import { rawExchange, replyString } from '../helpers/raw-client.js';

function openIdle(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

describe('byte-level behaviour of the saslauthd socket', () => {
  let d: RunningDaemon;
  before(async () => {
    const etc = new EtcTree(tempDir());
    etc.addUser({ name: 'alice', uid: 4000 });
    etc.chpasswd('SHA512', [['alice', 'alice-pass']]);
    d = await startDaemon({
      args: ['-a', 'shadow'],
      config: `passwd_file: ${etc.passwd}\nshadow_file: ${etc.shadow}\nrequest_timeout: 1\nmax_connections: 20\n`,
    });
  });
  after(async () => {
    assert.equal(await d.stop(), 0, d.logs());
  });

  test('a field over 256 bytes gets exactly the 3 bytes "NO " in a counted string', async () => {
    const r = await rawExchange(d.socket, encodeRequest(['alice', 'p'.repeat(300), 'imap', '']));
    assert.equal(r.kind, 'reply');
    assert.deepEqual(r.kind === 'reply' && r.bytes, Buffer.from([0, 3, 0x4e, 0x4f, 0x20]));
  });

  test('empty login and empty password', async () => {
    const a = await rawExchange(d.socket, encodeRequest(['', 'p', 'imap', '']));
    assert.equal(a.kind === 'reply' && replyString(a.bytes), 'NO NULL login received');
    const b = await rawExchange(d.socket, encodeRequest(['alice', '', 'imap', '']));
    assert.equal(b.kind === 'reply' && replyString(b.bytes), 'NO NULL password received');
  });

  test('a NUL inside the password cannot truncate it into a match', async () => {
    const r = await rawExchange(d.socket, encodeRequest(['alice', Buffer.from('alice-pass\0junk'), 'imap', '']));
    assert.equal(r.kind === 'reply' && replyString(r.bytes), 'NO Malformed request');
    const u = await rawExchange(d.socket, encodeRequest([Buffer.from('alice\0x'), 'alice-pass', 'imap', '']));
    assert.equal(u.kind === 'reply' && replyString(u.bytes), 'NO Malformed request');
  });

  test('a truncated request followed by EOF is closed with no reply', async () => {
    const full = encodeRequest(['alice', 'alice-pass', 'imap', '']);
    for (const n of [1, 2, 5, full.length - 1]) {
      const r = await rawExchange(d.socket, full.subarray(0, n), { halfClose: true });
      assert.equal(r.kind, 'closed', `prefix ${n}`);
      assert.equal(r.timedOut, false);
    }
  });

  test('a client that half-closes after a full request still gets its reply', async () => {
    const r = await rawExchange(d.socket, encodeRequest(['alice', 'alice-pass', 'imap', '']), { halfClose: true });
    assert.equal(r.kind === 'reply' && replyString(r.bytes), 'OK');
  });

  test('a client that stalls mid-request is dropped after request_timeout, with no reply', async () => {
    const r = await rawExchange(d.socket, Buffer.from([0, 5, 0x61]), { timeoutMs: 5000 });
    assert.equal(r.kind, 'closed');
    assert.equal(r.timedOut, false, 'the server closed it, not our 5 s guard');
  });

  test('idle connections do not starve others; past max_connections new ones are refused, not queued forever', async () => {
    const idle: Socket[] = [];
    try {
      for (let i = 0; i < 15; i++) idle.push(await openIdle(d.socket));
      // 15 idle clients hold slots, yet a real client is answered at once
      const ok = await testsaslauthd(d.socket, 'alice', 'alice-pass');
      assert.equal(ok.code, 0);
      for (let i = 0; i < 10; i++) {
        const s = await openIdle(d.socket).catch(() => undefined);
        if (s) idle.push(s);
      }
      const over = await rawExchange(d.socket, encodeRequest(['alice', 'alice-pass', 'imap', '']), { timeoutMs: 3000 });
      assert.notEqual(over.kind, 'reply', 'a connection beyond the cap must not be answered OK');
      await d.waitForLog(/max_connections \(20\) reached/);
    } finally {
      for (const s of idle) s.destroy();
    }
    // once the idle ones are gone, service is back
    await new Promise((r) => setTimeout(r, 100));
    assert.equal((await testsaslauthd(d.socket, 'alice', 'alice-pass')).code, 0);
  });

  test('garbage never crashes the daemon or earns an OK', async () => {
    for (let i = 0; i < 300; i++) {
      const junk = Buffer.from(Array.from({ length: 1 + (i % 40) }, () => Math.floor(Math.random() * 256)));
      const r = await rawExchange(d.socket, junk, { halfClose: true, timeoutMs: 3000 });
      if (r.kind === 'reply') assert.ok(replyString(r.bytes).startsWith('NO'), replyString(r.bytes));
    }
    assert.equal(d.proc.exitCode, null);
    assert.equal((await testsaslauthd(d.socket, 'alice', 'alice-pass')).code, 0);
  });
});
