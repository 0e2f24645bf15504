import assert from 'node:assert/strict';
import { statSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { encodeRequest } from '../../src/protocol/saslauthd.js';
import { BIN, run, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { EtcTree, tempDir } from '../helpers/fixtures.js';
import { rawExchange, replyString } from '../helpers/raw-client.js';

async function login(socket: string, user: string, password: string, ip: string): Promise<string> {
  const r = await rawExchange(socket, encodeRequest([user, password, 'smtp', '', `${ip};25`]), { timeoutMs: 30_000 });
  return r.kind === 'reply' ? replyString(r.bytes) : r.kind;
}

describe('authmux ctl: the running daemon\'s counters, cache, configuration and penalty table', () => {
  const dir = tempDir('authmux-ctl-');
  const etc = new EtcTree(join(dir, 'root'));
  etc.addUser({ name: 'alice', uid: 5501 });
  etc.chpasswd('SHA512', [['alice', 'alice-pass']]);
  const keys = `passwd_file: ${etc.passwd}\nshadow_file: ${etc.shadow}\n`;
  let d: RunningDaemon;
  const ctl = (...args: string[]) => run(BIN, ['ctl', '-m', d.runDir, ...args]);

  before(async () => {
    d = await startDaemon({ args: ['-a', 'shadow', '-c'], config: keys });
  });
  after(async () => {
    await d?.stop();
  });

  test('the socket is <run dir>/control, mode 0600: root\'s alone', () => {
    const st = statSync(join(d.runDir, 'control'));
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o600);
    assert.equal(st.uid, 0);
  });

  test('stats: "name value" lines a script can read', async () => {
    assert.equal(await login(d.socket, 'alice', 'alice-pass', '192.0.2.1'), 'OK');
    const r = await ctl('stats');
    assert.equal(r.code, 0, r.stderr);
    const stats = new Map(r.stdout.trim().split('\n').map((l) => l.split(' ') as [string, string]));
    assert.equal(stats.get('mechanisms'), 'shadow');
    assert.ok(Number(stats.get('logins_decided')) >= 1);
    assert.equal(stats.get('cache_entries'), '1');
    assert.equal(stats.get('pid'), String(d.proc.pid));
  });

  test('flush one login, then everything', async () => {
    assert.equal((await ctl('flush', 'nobody-here')).stdout, 'flushed 0\n');
    assert.equal((await ctl('flush', 'alice')).stdout, 'flushed 1\n');
    await login(d.socket, 'alice', 'alice-pass', '192.0.2.1');
    assert.equal((await ctl('flush')).stdout, 'flushed 1\n');
    await d.waitForLog(/control: cache flushed for "alice" \(1 entries\)/);
  });

  test('penalty shows an address\'s failures and delay; penalty-clear forgets them; an unknown one exits 1', async () => {
    await login(d.socket, 'alice', 'wrong-1', '203.0.113.9');
    const r = await ctl('penalty');
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^203\.0\.113\.9 failures=1 delay=2s$/m);
    assert.equal((await ctl('penalty', '203.0.113.9')).stdout, '203.0.113.9 failures=1 delay=2s\n');
    assert.equal((await ctl('penalty-clear', '203.0.113.9')).code, 0);
    assert.equal((await ctl('penalty', '203.0.113.9')).stdout, '');
    const again = await ctl('penalty-clear', '203.0.113.9');
    assert.equal(again.code, 1);
    assert.match(again.stderr, /no penalty for 203\.0\.113\.9/);
    assert.equal((await ctl('penalty', 'not-an-ip')).code, 1);
  });

  test('reload: exit 0 once the new configuration serves; a broken file: exit 1 with why, the old one serving on', async () => {
    assert.equal((await ctl('reload')).code, 0);
    await d.waitForLog(/configuration reloaded/);
    writeFileSync(d.configFile, `${keys}no_such_key: 1\n`);
    const bad = await ctl('reload');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /unknown key no_such_key/);
    assert.equal(await login(d.socket, 'alice', 'alice-pass', '192.0.2.1'), 'OK');
    writeFileSync(d.configFile, keys);
    assert.ok(readFileSync(d.configFile, 'utf8').includes('passwd_file'));
  });

  test('usage is exit 2, an unknown command exit 1, no daemon exit 3', async () => {
    assert.equal((await ctl()).code, 2);
    assert.equal((await ctl('flush', 'a', 'b')).code, 2);
    const unknown = await ctl('frobnicate');
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /unknown command "frobnicate"/);
    const none = await run(BIN, ['ctl', '-m', tempDir(), 'stats']);
    assert.equal(none.code, 3);
    assert.match(none.stderr, /no daemon answers/);
  });
});
