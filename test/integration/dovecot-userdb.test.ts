import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { DovecotRawClient } from '../helpers/dovecot-client.js';
import { EtcTree, tempDir } from '../helpers/fixtures.js';

const NOBODY = 65534;
const POSTFIX_GID = Number(execFileSync('id', ['-g', 'postfix']).toString());

/** A USER request as chasquid writes it. */
const user = (id: number | string, name: string) => `USER\t${id}\t${name}\tservice=smtp\n`;

describe('Dovecot userdb socket', () => {
  const base = tempDir('authmux-userdb-');
  chmodSync(base, 0o755);
  const etc = new EtcTree(join(base, 'root'));
  etc.addUser({ name: 'carol', uid: 4242, home: '/tmp' });
  etc.addUser({ name: 'erin', uid: 4245, home: '/tmp' });
  etc.chpasswd('SHA512', [['carol', 'carol-pw'], ['erin', 'erin-pw']]);
  // Expired: the mailbox still exists, so the lookup still finds it.
  etc.setAging('erin', '19000:0:99999:7::1:');
  const runDir = join(base, 'run');
  const socket = join(runDir, 'auth');
  const userdbSocket = join(runDir, 'userdb');
  /** Every line any client got from the userdb socket, for the check that no secret ever leaves. */
  const heard: string[] = [];
  let d: RunningDaemon;

  const open = async () => {
    const c = await DovecotRawClient.open(userdbSocket);
    const greeting = [await c.line(), await c.line()];
    heard.push(...greeting);
    return { c, greeting, line: async () => { const l = await c.line(); heard.push(l); return l; } };
  };

  before(async () => {
    d = await startDaemon({
      args: ['-m', runDir, '-a', 'shadow'],
      config: [
        `passwd_file: ${etc.passwd}`,
        `shadow_file: ${etc.shadow}`,
        `dovecot_socket: ${socket}`,
        `dovecot_userdb_socket: ${userdbSocket}`,
        'dovecot_socket_group: postfix',
        'request_timeout: 1',
        'idle_timeout: 3',
      ].join('\n'),
    });
  });
  after(async () => {
    await d?.stop();
  });

  test('the userdb socket takes the Dovecot socket\'s mode and group', async () => {
    const st = statSync(userdbSocket);
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o660);
    assert.equal(st.gid, POSTFIX_GID);
    await d.waitForLog(new RegExp(`Dovecot userdb lookups on ${userdbSocket}`));
  });

  test('greeting at connect; USER for an account, NOTFOUND for none, answered by id, several at once', async () => {
    const { c, greeting, line } = await open();
    try {
      assert.equal(greeting[0], 'VERSION\t1\t1');
      assert.match(greeting[1]!, /^SPID\t\d+$/);
      c.send('VERSION\t1\t1\n');
      c.send(user(1, 'carol'));
      assert.equal(await line(), 'USER\t1\tcarol');
      c.send(user(2, 'nosuchuser'));
      assert.equal(await line(), 'NOTFOUND\t2');
      c.send(user(3, 'erin') + user(4, 'nobody-here') + user(5, 'carol'));
      assert.deepEqual(new Set([await line(), await line(), await line()]), new Set(['USER\t3\terin', 'NOTFOUND\t4', 'USER\t5\tcarol']));
      // An id answered may be used again.
      c.send(user(1, 'erin'));
      assert.equal(await line(), 'USER\t1\terin');
    } finally {
      c.close();
    }
  });

  test('a source that cannot be read (shadow file moved away) (shadow or passwd file moved away) is FAIL, never NOTFOUND', async () => {
    const moved = `${etc.shadow}.away`;
    renameSync(etc.shadow, moved);
    try {
      const { c, line } = await open();
      try {
        // passwd, still readable, names the accounts: one it lacks is still known missing.
        c.send(user(7, 'carol') + user(8, 'nosuchuser'));
        assert.deepEqual(new Set([await line(), await line()]), new Set(['FAIL\t7', 'NOTFOUND\t8']));
      } finally {
        c.close();
      }
      await d.waitForLog(/userdb lookup of carol \(shadow\/dovecot\): /);
    } finally {
      renameSync(moved, etc.shadow);
    }
    const passwdAway = `${etc.passwd}.away`;
    renameSync(etc.passwd, passwdAway);
    try {
      const { c, line } = await open();
      try {
        c.send(user(10, 'carol') + user(11, 'nosuchuser'));
        assert.deepEqual(new Set([await line(), await line()]), new Set(['FAIL\t10', 'FAIL\t11']));
      } finally {
        c.close();
      }
    } finally {
      renameSync(passwdAway, etc.passwd);
    }
    const { c, line } = await open();
    try {
      c.send(user(9, 'carol'));
      assert.equal(await line(), 'USER\t9\tcarol');
    } finally {
      c.close();
    }
  });

  test('no reply carries any of the accounts\' hash text', () => {
    const hashes = readFileSync(etc.shadow, 'latin1').split('\n').filter(Boolean).map((l) => l.split(':')[1]!);
    assert.ok(hashes.length === 2 && hashes.every((h) => h.startsWith('$6$')));
    assert.ok(heard.some((l) => l.startsWith('USER\t')), 'lookups were heard');
    for (const l of heard) {
      assert.doesNotMatch(l, /\$6\$|pass|pw/i, l);
      for (const h of hashes) {
        assert.ok(!l.includes(h), l);
        // Not even the salt.
        assert.ok(!l.includes(h.split('$')[2]!), l);
      }
    }
  });

  test('malformed lines and protocol breaches close that connection only', async () => {
    const bystander = await open();
    const breaches: Array<[string, string | Buffer]> = [
      ['line over 16384 bytes', `USER\t1\t${'a'.repeat(16_400)}\tservice=smtp\n`],
      ['a line over 16 KiB without its LF', Buffer.alloc(20_000, 0x41)],
      ['unknown command', 'PASS\t1\tcarol\tservice=smtp\n'],
      ['an auth-socket command', 'AUTH\t1\tPLAIN\tservice=smtp\n'],
      ['USER without an id', 'USER\tx\tcarol\n'],
      ['USER without a user', 'USER\t1\n'],
      ['USER with an empty user', 'USER\t1\t\tservice=smtp\n'],
      ['duplicate id while looking up', user(3, 'carol') + user(3, 'carol')],
      ['wrong major version', 'VERSION\t2\t0\n'],
      ['malformed VERSION', 'VERSION\tone\n'],
      ['bad escape', 'USER\t1\tca\x01Xrol\n'],
    ];
    for (const [what, bytes] of breaches) {
      const { c } = await open();
      c.send(bytes);
      assert.ok(await c.closedWithin(3000), `${what}: connection not closed`);
      heard.push(...c.unread);
    }
    assert.equal(bystander.c.closed, false);
    bystander.c.send(user(1, 'carol'));
    assert.equal(await bystander.line(), 'USER\t1\tcarol');
    bystander.c.close();
    await d.waitForLog(/dovecot userdb connections? closed/);
  });

  test('no request within request_timeout: closed; after answers, idle_timeout applies', async () => {
    const silent = await open();
    // VERSION is no request: it does not hold the connection open.
    silent.c.send('VERSION\t1\t1\n');
    const t0 = Date.now();
    assert.ok(await silent.c.closedWithin(3000), 'silent client kept');
    assert.ok(Date.now() - t0 >= 500);
    const { c, line } = await open();
    c.send(user(1, 'carol'));
    assert.equal(await line(), 'USER\t1\tcarol');
    assert.equal(await c.closedWithin(1500), false);
    c.send(user(2, 'carol'));
    assert.equal(await line(), 'USER\t2\tcarol');
    assert.ok(await c.closedWithin(5000), 'idle client kept past idle_timeout');
  });
});

describe('Dovecot userdb socket limits', () => {
  test('max_connections_per_user holds here too for a user outside trusted_users; root still gets in', async () => {
    const dir = tempDir('authmux-userdb-set-');
    chmodSync(dir, 0o755);
    const socket = join(dir, 'run', 'userdb');
    const d = await startDaemon({ args: ['-m', join(dir, 'run'), '-a', 'shadow'], config: `dovecot_userdb_socket: ${socket}\ndovecot_socket_mode: 0666\nmax_connections_per_user: 2\n` });
    const script = join(dir, 'hold.cjs');
    // Opens three connections one after another, keeping each, and says whether the greeting came or the door shut.
    writeFileSync(script, `
const net = require('node:net');
const out = [];
const open = (n) => {
  if (n === 0) { process.stdout.write(out.join(' ')); process.exit(0); }
  const s = net.connect(process.argv[2]);
  let buf = '';
  s.on('data', (c) => { buf += c; if (/SPID\\t\\d+\\n/.test(buf) && !s.done) { s.done = true; out.push('served'); open(n - 1); } });
  s.on('close', () => { if (!s.done) { out.push('refused'); open(n - 1); } });
  s.on('error', () => undefined);
};
open(3);
`, { mode: 0o644 });
    try {
      const out = await new Promise<string>((resolve) => {
        const p = spawn(process.execPath, [script, socket], { uid: NOBODY, gid: NOBODY, stdio: ['ignore', 'pipe', 'inherit'] });
        let o = '';
        p.stdout.on('data', (c: Buffer) => (o += c.toString('latin1')));
        p.on('close', () => resolve(o));
      });
      assert.equal(out, 'served served refused');
      await d.waitForLog(/connection refused: uid 65534 already holds max_connections_per_user \(2\)/);
      const c = await DovecotRawClient.open(socket);
      try {
        assert.equal(await c.line(), 'VERSION\t1\t1');
      } finally {
        c.close();
      }
    } finally {
      await d.stop();
    }
  });
});
