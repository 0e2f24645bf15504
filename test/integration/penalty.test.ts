import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeRequest } from '../../src/protocol/saslauthd.js';
import { REPO, run, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { b64, DovecotRawClient } from '../helpers/dovecot-client.js';
import { EtcTree, freePort, tempDir } from '../helpers/fixtures.js';
import { fd3Input, runCheckpassword } from '../helpers/checkpassword.js';
import { rawExchange, replyString } from '../helpers/raw-client.js';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { PENALISED_AT_ONCE } from '../../src/auth/penalty-gate.js';

/** One saslauthd request from the MTA (root, so the fifth field is believed); the reply and how long it took. */
async function login(socket: string, user: string, password: string, ip: string): Promise<{ reply: string; ms: number }> {
  const started = Date.now();
  const r = await rawExchange(socket, encodeRequest([user, password, 'smtp', '', `${ip};25`]), { timeoutMs: 30_000 });
  return { reply: r.kind === 'reply' ? replyString(r.bytes) : r.kind, ms: Date.now() - started };
}

function users(): EtcTree {
  const etc = new EtcTree(join(tempDir('authmux-penalty-'), 'root'));
  etc.addUser({ name: 'alice', uid: 5101, home: '/' });
  etc.addUser({ name: 'mallory', uid: 5102 });
  etc.chpasswd('SHA512', [['alice', 'alice-pass'], ['mallory', 'mallory-pass']]);
  return etc;
}

describe('per-address penalty on the saslauthd socket', () => {
  let d: RunningDaemon;
  const etc = users();
  const logFile = join(tempDir('authmux-penalty-log-'), 'auth.log');
  before(async () => {
    d = await startDaemon({ args: ['-a', 'shadow'], config: `passwd_file: ${etc.passwd}\nshadow_file: ${etc.shadow}\npenalty_max: 4\n`, logFile });
  });
  after(async () => {
    await d?.stop();
  });

  test('consecutive failures from one address delay its next requests 2 s, then 4 s (the cap here); a success clears it', async () => {
    const ip = '192.0.2.10';
    assert.ok((await login(d.socket, 'alice', 'guess-1', ip)).ms < 1500);
    const second = await login(d.socket, 'alice', 'guess-2', ip);
    assert.equal(second.reply, 'NO Incorrect password');
    assert.ok(second.ms >= 1900, `waited ${second.ms} ms`);
    const third = await login(d.socket, 'alice', 'guess-3', ip);
    assert.ok(third.ms >= 3900, `waited ${third.ms} ms`);
    const right = await login(d.socket, 'alice', 'alice-pass', ip);
    assert.equal(right.reply, 'OK');
    assert.ok(right.ms >= 3900, 'the right password waited its turn too');
    assert.ok((await login(d.socket, 'alice', 'guess-4', ip)).ms < 1500, 'the success cleared the address');
  });

  test('a client retrying one stale password is not made to wait longer and longer', async () => {
    const ip = '192.0.2.11';
    await login(d.socket, 'alice', 'old-pass', ip);
    const a = await login(d.socket, 'alice', 'old-pass', ip);
    const b = await login(d.socket, 'alice', 'old-pass', ip);
    assert.ok(a.ms >= 1900 && b.ms >= 1900, 'the first failure counts');
    assert.ok(b.ms < 3500, `the repeats did not raise it (${b.ms} ms)`);
  });

  test('2,000 wrong passwords from 200 addresses: a right user from a clean address, every 100 ms, is never held back', async () => {
    let attacking = true;
    const attackers = Array.from({ length: 200 }, async (_, i) => {
      const ip = `203.0.113.${i + 1}`;
      for (let n = 0; n < 10; n++) assert.equal((await login(d.socket, 'mallory', `guess-${i}-${n}`, ip)).reply, 'NO Incorrect password');
    });
    const attack = Promise.all(attackers).finally(() => (attacking = false));
    const honest: number[] = [];
    while (attacking) {
      const r = await login(d.socket, 'alice', 'alice-pass', '198.51.100.200');
      assert.equal(r.reply, 'OK');
      honest.push(r.ms);
      await sleep(100);
    }
    await attack;
    assert.ok(honest.length > 20, `${honest.length} honest logins during the attack`);
    assert.ok(Math.max(...honest) < 1500, `the slowest honest login took ${Math.max(...honest)} ms; a penalty is 2 s`);
  });
  test(`many guesses at once from a penalised address: ${PENALISED_AT_ONCE} are checked after the wait, the rest refused unchecked as temporary failures`, async () => {
    const ip = '192.0.2.20';
    await login(d.socket, 'alice', 'par-first', ip);
    const started = Date.now();
    const replies = await Promise.all(Array.from({ length: 40 }, (_, i) => login(d.socket, 'alice', `par-${i}`, ip)));
    const checked = replies.filter((r) => r.reply === 'NO Incorrect password');
    const refused = replies.filter((r) => r.reply === 'NO Temporary failure, try again later');
    assert.equal(checked.length, PENALISED_AT_ONCE, JSON.stringify(replies.map((r) => r.reply)));
    assert.equal(refused.length, 40 - PENALISED_AT_ONCE);
    assert.ok(Math.max(...refused.map((r) => r.ms)) < 1500, 'the refused were answered at once, holding nothing');
    assert.ok(Math.min(...checked.map((r) => r.ms)) >= 1900, 'the checked ones waited the penalty');
    assert.ok(Date.now() - started < 10_000);
    const right = await login(d.socket, 'alice', 'alice-pass', ip);
    assert.equal(right.reply, 'OK', 'after the burst, one login at a time gets through');
  });

  test('a local user who is not trusted cannot guess at full speed: counted by uid, since the address it sends is not believed', async () => {
    const dir = tempDir('authmux-penalty-local-');
    chmodSync(dir, 0o755);
    // A run directory anyone may enter, as saslauthd's /run/saslauthd is.
    mkdirSync(join(dir, 'run'), { mode: 0o755 });
    const open = await startDaemon({ args: ['-a', 'shadow', '-m', join(dir, 'run')], config: `passwd_file: ${etc.passwd}\nshadow_file: ${etc.shadow}\npenalty_max: 4\n` });
    const script = join(dir, 'guess.cjs');
    // Four wrong passwords one after another as nobody, each claiming a fresh address.
    writeFileSync(script, `
const net = require('node:net');
const f = (s) => { const b = Buffer.from(s, 'latin1'); const l = Buffer.alloc(2); l.writeUInt16BE(b.length); return Buffer.concat([l, b]); };
const one = (i) => new Promise((res) => {
  const started = Date.now();
  const s = net.connect(process.argv[2], () => s.write(Buffer.concat([f('alice'), f('local-' + i), f('smtp'), f(''), f('203.0.113.' + (i + 1) + ';25')])));
  let out = Buffer.alloc(0);
  s.on('data', (c) => (out = Buffer.concat([out, c])));
  s.on('close', () => res({ reply: out.subarray(2).toString(), ms: Date.now() - started }));
  s.on('error', (e) => res({ reply: 'error ' + e.code, ms: 0 }));
});
(async () => { const r = []; for (let i = 0; i < 4; i++) r.push(await one(i)); process.stdout.write(JSON.stringify(r)); })();
`, { mode: 0o644 });
    const out = await new Promise<string>((resolve) => {
      const p = spawn(process.execPath, [script, open.socket], { uid: 65534, gid: 65534, stdio: ['ignore', 'pipe', 'inherit'] });
      let o = '';
      p.stdout!.on('data', (c: Buffer) => (o += c.toString('latin1')));
      p.on('close', () => resolve(o));
    });
    const tries = JSON.parse(out) as Array<{ reply: string; ms: number }>;
    assert.deepEqual(tries.map((t) => t.reply), ['NO', 'NO', 'NO', 'NO']);
    assert.ok(tries[0]!.ms < 1500);
    assert.ok(tries[1]!.ms >= 1900 && tries[2]!.ms >= 3900, `waits ${JSON.stringify(tries.map((t) => t.ms))}`);
    try {
      // The address it claimed counts for nothing: a login from it is not held back.
      assert.ok((await login(open.socket, 'alice', 'alice-pass', '203.0.113.2')).ms < 1500);
      const ctl = await run(join(REPO, 'bin/authmux'), ['ctl', '-m', join(dir, 'run'), 'penalty']);
      assert.match(ctl.stdout, /^uid:65534 failures=4 /m, ctl.stdout + ctl.stderr);
      assert.equal((await run(join(REPO, 'bin/authmux'), ['ctl', '-m', join(dir, 'run'), 'penalty-clear', 'uid:65534'])).code, 0);
    } finally {
      await open.stop();
    }
  });

  test("every failure answered after a penalty wait is still a line fail2ban's filter bans the address from", async () => {
    const ip = '192.0.2.12';
    for (const pw of ['f2b-1', 'f2b-2', 'f2b-3']) assert.equal((await login(d.socket, 'alice', pw, ip)).reply, 'NO Incorrect password');
    const failures = new Map<string, number>();
    for (const m of readFileSync(logFile, 'latin1').matchAll(/auth failure: .*\[client=([^\]]+)\]$/gm)) failures.set(m[1]!, (failures.get(m[1]!) ?? 0) + 1);
    assert.equal(failures.get(ip), 3, 'two of them waited, all three were logged');
    const { stdout } = await run('fail2ban-regex', ['-o', 'ip', logFile, join(REPO, 'contrib/fail2ban/filter.d/authmux.conf')]);
    const banned = new Map<string, number>();
    for (const found of stdout.split('\n').filter(Boolean)) banned.set(found, (banned.get(found) ?? 0) + 1);
    assert.deepEqual(banned, failures);
  });
});

describe('penalty: no, and trusted addresses', () => {
  let d: RunningDaemon;
  const etc = users();
  before(async () => {
    d = await startDaemon({ args: ['-a', 'shadow'], config: `passwd_file: ${etc.passwd}\nshadow_file: ${etc.shadow}\npenalty_trusted: 198.51.100.0/24\n` });
  });
  after(async () => {
    await d?.stop();
  });

  test('an address in penalty_trusted fails as often as it likes without waiting', async () => {
    for (let n = 0; n < 3; n++) assert.ok((await login(d.socket, 'alice', `g${n}`, '198.51.100.7')).ms < 1500);
  });

  test('off, nothing waits', async () => {
    const off = await startDaemon({ args: ['-a', 'shadow'], config: `passwd_file: ${etc.passwd}\nshadow_file: ${etc.shadow}\npenalty: no\n` });
    try {
      for (let n = 0; n < 3; n++) assert.ok((await login(off.socket, 'alice', `g${n}`, '192.0.2.99')).ms < 1500);
    } finally {
      await off.stop();
    }
  });
});

describe('penalty_store: redis, two daemons on one Redis', () => {
  const etc = users();
  let redis: ChildProcess;
  let port: number;
  const daemons: RunningDaemon[] = [];
  /** checkpassword without a daemon, on the same Redis: one process per login, as under tcpserver. */
  const direct = async (password: string, ip: string) => {
    const config = join(tempDir('authmux-penalty-cp-'), 'authmux.conf');
    writeFileSync(config, `mech: shadow\npasswd_file: ${etc.passwd}\nshadow_file: ${etc.shadow}\npenalty_store: redis\nrelay_redis: redis://127.0.0.1:${port}/0\npenalty_max: 4\n`);
    const started = Date.now();
    const r = await runCheckpassword(fd3Input('alice', password), ['/bin/true'], { AUTHMUX_CONFIG: config, TCPREMOTEIP: ip });
    return { code: r.code, ms: Date.now() - started, stderr: r.stderr };
  };

  before(async () => {
    port = await freePort();
    redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    for (let i = 0; i < 100; i++) {
      if (spawnSync('redis-cli', ['-p', String(port), 'ping']).stdout?.toString().trim() === 'PONG') break;
      await sleep(50);
    }
    const keys = `passwd_file: ${etc.passwd}\nshadow_file: ${etc.shadow}\npenalty_store: redis\nrelay_redis: redis://127.0.0.1:${port}/0\npenalty_max: 4\n`;
    daemons.push(await startDaemon({ args: ['-a', 'shadow'], config: keys }), await startDaemon({ args: ['-a', 'shadow'], config: keys }));
  });
  after(async () => {
    for (const d of daemons) await d.stop();
    redis?.kill('SIGKILL');
  });

  test('failures counted by one daemon hold the address back at the other', async () => {
    const [a, b] = daemons as [RunningDaemon, RunningDaemon];
    await login(a.socket, 'alice', 'spread-1', '192.0.2.77');
    await login(a.socket, 'alice', 'spread-2', '192.0.2.77');
    const atB = await login(b.socket, 'alice', 'spread-3', '192.0.2.77');
    assert.ok(atB.ms >= 3900, `the second daemon held it ${atB.ms} ms: two failures seen by the first`);
    const ok = await login(b.socket, 'alice', 'alice-pass', '192.0.2.77');
    assert.equal(ok.reply, 'OK');
    assert.ok((await login(a.socket, 'alice', 'x', '192.0.2.77')).ms < 1500, 'the success at one cleared it for both');
  });

  test('with serve_processes: 2 each process asks the fleet\'s count and adds to it; a reload that changes penalty_store says it needs a restart', async () => {
    const [a] = daemons as [RunningDaemon, RunningDaemon];
    const keys = `passwd_file: ${etc.passwd}\nshadow_file: ${etc.shadow}\npenalty_store: redis\nrelay_redis: redis://127.0.0.1:${port}/0\npenalty_max: 4\n`;
    const two = await startDaemon({ args: ['-a', 'shadow'], config: `${keys}serve_processes: 2\n` });
    try {
      await two.waitForLog(/serving processes: \d+ accept on/);
      const pids = [two.proc.pid!, Number(/serving processes: (\d+) accept on/.exec(two.logs())![1])];
      // Which process takes a connection is the kernel's choice: the other is stopped meanwhile.
      const through = async <T>(pid: number, fn: () => Promise<T>): Promise<T> => {
        const paused = pids.find((p) => p !== pid)!;
        process.kill(paused, 'SIGSTOP');
        try {
          return await fn();
        } finally {
          process.kill(paused, 'SIGCONT');
        }
      };
      for (const [i, pid] of pids.entries()) {
        const ip = `192.0.2.${130 + i}`;
        await login(a.socket, 'alice', `sp-${i}-1`, ip);
        const held = await through(pid, () => login(two.socket, 'alice', `sp-${i}-2`, ip));
        assert.ok(held.ms >= 1900, `process ${pid} did not ask the fleet's count: held ${held.ms} ms`);
        const atA = await login(a.socket, 'alice', `sp-${i}-3`, ip);
        assert.ok(atA.ms >= 3900, `process ${pid}'s failure did not reach the fleet's count: held ${atA.ms} ms at the other daemon`);
      }
      writeFileSync(two.configFile, `${keys.replace('penalty_store: redis\n', '')}serve_processes: 2\n`);
      process.kill(two.proc.pid!, 'SIGHUP');
      await two.waitForLog(/penalty_store and penalty_redis_prefix change only with a restart/);
    } finally {
      await two.stop();
    }
  });

  test('checkpassword without a daemon (one process a login) is held back by the fleet\'s count, and adds to it', async () => {
    const [a] = daemons as [RunningDaemon, RunningDaemon];
    const ip = '192.0.2.99';
    await login(a.socket, 'alice', 'cp-1', ip);
    const first = await direct('cp-2', ip);
    assert.equal(first.code, 1, first.stderr);
    assert.ok(first.ms >= 1900, `one failure at the daemon held the program back ${first.ms} ms`);
    const atDaemon = await login(a.socket, 'alice', 'cp-3', ip);
    assert.ok(atDaemon.ms >= 3900, `the program's failure counted at the daemon too (${atDaemon.ms} ms)`);
    const right = await direct('alice-pass', ip);
    assert.equal(right.code, 0, right.stderr);
    assert.ok((await login(a.socket, 'alice', 'cp-4', ip)).ms < 1500, 'the program\'s success cleared the address for the fleet');
    const clean = await direct('alice-pass', '198.51.100.99');
    assert.equal(clean.code, 0);
    assert.ok(clean.ms < 1500, `a clean address is not held (${clean.ms} ms)`);
  });

  test("the program never turns its shared stderr non-blocking, though the Redis client it loads opens Node's stderr stream", async () => {
    const [a] = daemons as [RunningDaemon, RunningDaemon];
    const ip = '192.0.2.111';
    await login(a.socket, 'alice', 'nb-1', ip);
    const config = join(tempDir('authmux-penalty-nb-'), 'authmux.conf');
    writeFileSync(config, `mech: shadow\npasswd_file: ${etc.passwd}\nshadow_file: ${etc.shadow}\npenalty_store: redis\nrelay_redis: redis://127.0.0.1:${port}/0\npenalty_max: 4\n`);
    // As under tcpserver: every login's stderr is one pipe to the log, so its open file description (and O_NONBLOCK) is shared
    // with the other logins' programs. While this one waits out its penalty, the pipe's flags are read through the shell's fd 2.
    const script = `exec 2> >(cat >/dev/null)
"$0" /bin/true 3< <(printf 'alice\\0wrong\\0\\0') & pid=$!
while kill -0 $pid 2>/dev/null; do awk '$1 == "flags:" { print $2 }' /proc/self/fdinfo/2; sleep 0.05; done
wait $pid; echo "exit $?"`;
    const r = spawnSync('bash', ['-c', script, join(REPO, 'bin/authmux-checkpassword')], { env: { ...process.env, AUTHMUX_CONFIG: config, TCPREMOTEIP: ip }, encoding: 'utf8', timeout: 20_000 });
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.at(-1), 'exit 1', r.stdout + r.stderr);
    const samples = lines.slice(0, -1);
    assert.ok(samples.length >= 20, `sampled through the penalty wait: ${samples.length}`);
    assert.deepEqual(samples.filter((f) => (parseInt(f, 8) & 0o4000) !== 0), [], 'no sample saw O_NONBLOCK');
  });

  for (const planted of ['x', '-50']) {
    test(`a value in Redis that is no count (${planted}) neither lifts the penalty nor stays`, async () => {
      const [a] = daemons as [RunningDaemon, RunningDaemon];
      const ip = planted === 'x' ? '192.0.2.51' : '192.0.2.52';
      spawnSync('redis-cli', ['-p', String(port), 'set', `authmux:penalty:${ip}`, planted]);
      const waits: number[] = [];
      for (let i = 0; i < 3; i++) waits.push((await login(a.socket, 'alice', `planted-${i}`, ip)).ms);
      assert.ok(waits[2]! >= 1900, `this daemon's own count held the address back: ${JSON.stringify(waits)}`);
      const now = spawnSync('redis-cli', ['-p', String(port), 'get', `authmux:penalty:${ip}`]).stdout.toString().trim();
      assert.match(now, /^\d+$/, 'the planted value was replaced by a count');
    });
  }

  test('Redis stopped: logins go on, counted locally, never refused for it', async () => {
    const [a] = daemons as [RunningDaemon, RunningDaemon];
    redis.kill('SIGKILL');
    await new Promise((r) => redis.once('exit', r));
    const right = await login(a.socket, 'alice', 'alice-pass', '198.51.100.50');
    assert.equal(right.reply, 'OK');
    assert.ok(right.ms < 1500);
    const program = await direct('alice-pass', '198.51.100.51');
    assert.equal(program.code, 0, program.stderr);
    assert.ok(program.ms < 3000, `checkpassword did not wait long for the missing store (${program.ms} ms)`);
    assert.match(program.stderr, /penalty store \(Redis\)/);
    await login(a.socket, 'alice', 'down-1', '192.0.2.88');
    const held = await login(a.socket, 'alice', 'down-2', '192.0.2.88');
    assert.equal(held.reply, 'NO Incorrect password');
    assert.ok(held.ms >= 1900, 'the local count still holds the address back');
    await a.waitForLog(/penalty store \(Redis\) away, counting locally/);
  });
});

describe('the penalty on the Dovecot socket: rip counts; no-penalty from the MTA exempts', () => {
  const etc = users();
  const dir = tempDir('authmux-penalty-dovecot-');
  let d: RunningDaemon;
  before(async () => {
    d = await startDaemon({ args: ['-a', 'shadow'], config: `passwd_file: ${etc.passwd}\nshadow_file: ${etc.shadow}\ndovecot_socket: ${join(dir, 'auth')}\n` });
  });
  after(async () => {
    await d?.stop();
  });

  /** One AUTH PLAIN from root (trusted): the reply line and how long it took. */
  async function auth(c: DovecotRawClient, id: number, password: string, rip: string, flags = ''): Promise<{ line: string; ms: number }> {
    const started = Date.now();
    c.send(`AUTH\t${id}\tPLAIN\tservice=smtp\tnologin\trip=${rip}${flags}\tresp=${b64(`\0alice\0${password}`)}\n`);
    const line = await c.line(30_000);
    return { line, ms: Date.now() - started };
  }

  test('failures from one rip delay the next; with no-penalty they neither count nor wait', async () => {
    const c = await DovecotRawClient.open(join(dir, 'auth'));
    try {
      await c.handshake();
      c.send('VERSION\t1\t2\nCPID\t42\n');
      await auth(c, 1, 'wrong-1', '192.0.2.201');
      const held = await auth(c, 2, 'wrong-2', '192.0.2.201');
      assert.match(held.line, /^FAIL\t2/);
      assert.ok(held.ms >= 1900, `rip 192.0.2.201 waited ${held.ms} ms`);
      for (let i = 0; i < 3; i++) {
        const free = await auth(c, 10 + i, `wrong-np-${i}`, '192.0.2.202', '\tno-penalty');
        assert.match(free.line, new RegExp(`^FAIL\\t${10 + i}`));
        assert.ok(free.ms < 1500, `no-penalty request waited ${free.ms} ms`);
      }
      const after = await auth(c, 20, 'wrong-after', '192.0.2.202');
      assert.ok(after.ms < 1500, 'the no-penalty failures counted nothing');
    } finally {
      c.close();
    }
  });
});

describe('with the cache on (-c), a cached success from a penalised address still waits its penalty, on both sockets', () => {
  const etc = users();
  const dir = tempDir('authmux-penalty-cache-');
  let d: RunningDaemon;
  before(async () => {
    d = await startDaemon({ args: ['-a', 'shadow', '-c'], config: `passwd_file: ${etc.passwd}\nshadow_file: ${etc.shadow}\ndovecot_socket: ${join(dir, 'auth')}\npenalty_max: 4\n` });
  });
  after(async () => {
    await d?.stop();
  });

  test('saslauthd socket: the right password, cached from a clean address, waits at a penalised one, then answers at once again', async () => {
    assert.equal((await login(d.socket, 'alice', 'alice-pass', '192.0.2.150')).reply, 'OK');
    const hit = await login(d.socket, 'alice', 'alice-pass', '192.0.2.150');
    assert.equal(hit.reply, 'OK');
    assert.ok(hit.ms < 1500);
    await login(d.socket, 'alice', 'guess-1', '192.0.2.151');
    await login(d.socket, 'alice', 'guess-2', '192.0.2.151');
    const held = await login(d.socket, 'alice', 'alice-pass', '192.0.2.151');
    assert.equal(held.reply, 'OK');
    assert.ok(held.ms >= 3900, `a cached success from a penalised address waited only ${held.ms} ms`);
    assert.ok((await login(d.socket, 'alice', 'alice-pass', '192.0.2.151')).ms < 1500, 'the success cleared the address');
  });

  test('Dovecot socket: the same', async () => {
    const c = await DovecotRawClient.open(join(dir, 'auth'));
    const auth = async (id: number, password: string, rip: string) => {
      const started = Date.now();
      c.send(`AUTH\t${id}\tPLAIN\tservice=smtp\tnologin\trip=${rip}\tresp=${b64(`\0alice\0${password}`)}\n`);
      return { line: await c.line(30_000), ms: Date.now() - started };
    };
    try {
      await c.handshake();
      c.send('VERSION\t1\t2\nCPID\t43\n');
      assert.match((await auth(1, 'alice-pass', '192.0.2.160')).line, /^OK\t1/);
      const hit = await auth(2, 'alice-pass', '192.0.2.160');
      assert.match(hit.line, /^OK\t2/);
      assert.ok(hit.ms < 1500);
      await auth(3, 'guess-1', '192.0.2.161');
      await auth(4, 'guess-2', '192.0.2.161');
      const held = await auth(5, 'alice-pass', '192.0.2.161');
      assert.match(held.line, /^OK\t5/);
      assert.ok(held.ms >= 3900, `a cached success from a penalised rip waited only ${held.ms} ms`);
    } finally {
      c.close();
    }
  });
});
