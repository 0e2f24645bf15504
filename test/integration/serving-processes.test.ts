import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeRequest } from '../../src/protocol/saslauthd.js';
import { BIN, run, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { EtcTree, tempDir } from '../helpers/fixtures.js';
import { rawExchange, replyString } from '../helpers/raw-client.js';
import { promtool, scrape } from '../helpers/scrape.js';

/**
 * serve_processes: 2. Which process takes a connection is the kernel's
 * choice, so each check here stops the other process (SIGSTOP) for its
 * duration: the socket's queue is then drained by the one meant.
 */

async function login(socket: string, user: string, password: string, opts: { ip?: string; service?: string; timeoutMs?: number } = {}): Promise<{ reply: string; ms: number }> {
  const started = Date.now();
  const r = await rawExchange(socket, encodeRequest([user, password, opts.service ?? 'imap', '', opts.ip ? `${opts.ip};143` : '']), { timeoutMs: opts.timeoutMs ?? 30_000 });
  return { reply: r.timedOut ? 'timeout' : r.kind === 'reply' ? replyString(r.bytes) : r.kind, ms: Date.now() - started };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function ctl(d: RunningDaemon, ...args: string[]): Promise<string> {
  const r = await run(BIN, ['ctl', '-m', d.runDir, ...args]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

/** The sum of a counter's series in an exposition. */
function total(body: string, name: string): number {
  return [...body.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)$`, 'gm'))].reduce((n, m) => n + Number(m[1]), 0);
}

function stat(out: string, name: string): number {
  const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(out);
  assert.ok(m, `${name} in ${out}`);
  return Number(m[1]);
}

describe('serve_processes: 2, both accepting on the saslauthd socket', () => {
  const base = tempDir('authmux-serving-');
  const etc = new EtcTree(join(base, 'root'));
  etc.addUser({ name: 'alice', uid: 5301, home: '/' });
  etc.chpasswd('SHA512', [['alice', 'alice-1']]);
  const other = new EtcTree(join(base, 'other'));
  other.addUser({ name: 'alice', uid: 5301, home: '/' });
  other.chpasswd('SHA512', [['alice', 'from-other-file']]);
  const relayFile = join(base, 'relayers');
  const metricsSock = join(base, 'metrics.sock');
  const configText = (etcTree: EtcTree) =>
    [`passwd_file: ${etcTree.passwd}`, `shadow_file: ${etcTree.shadow}`, 'serve_processes: 2', 'penalty_max: 4', `relay_file: ${relayFile}`, `metrics_listen: ${metricsSock}`].join('\n');
  let d: RunningDaemon;
  let first: number;
  let second: number;

  /** Runs `fn` while only `pid` accepts. */
  async function through<T>(pid: number, fn: () => Promise<T>): Promise<T> {
    const paused = pid === first ? second : first;
    process.kill(paused, 'SIGSTOP');
    try {
      return await fn();
    } finally {
      process.kill(paused, 'SIGCONT');
    }
  }

  /** Who answered the last success: -V logs each, with the answering process's pid. */
  function answeredBy(user: string): number {
    const lines = d.logs().split('\n').filter((l) => l.includes(`auth success: [user=${user}]`));
    const m = /saslauthd\[(\d+)\]/.exec(lines.at(-1) ?? '');
    assert.ok(m, 'a success line');
    return Number(m[1]);
  }

  before(async () => {
    d = await startDaemon({ args: ['-a', 'shadow', '-c', '-V'], config: configText(etc) });
    await d.waitForLog(/serving processes: \d+ accept on/);
    first = d.proc.pid!;
    second = Number(/serving processes: (\d+) accept on/.exec(d.logs())![1]);
    assert.notEqual(first, second);
  });
  after(async () => {
    await d?.stop();
  });

  test('each process answers, each from its own cache; a changed password is refused by both on the next request', async () => {
    for (const pid of [first, second]) {
      assert.equal((await through(pid, () => login(d.socket, 'alice', 'alice-1'))).reply, 'OK');
      assert.equal(answeredBy('alice'), pid);
      assert.equal((await through(pid, () => login(d.socket, 'alice', 'alice-1'))).reply, 'OK');
    }
    const stats = await ctl(d, 'stats');
    assert.equal(stat(stats, 'serving_processes'), 2);
    assert.equal(stat(stats, 'cache_entries'), 2, 'one entry in each process');
    etc.chpasswd('SHA512', [['alice', 'alice-2']]);
    for (const pid of [first, second]) {
      assert.equal((await through(pid, () => login(d.socket, 'alice', 'alice-1'))).reply, 'NO Incorrect password', `process ${pid} answered the old password from its cache`);
      assert.equal((await through(pid, () => login(d.socket, 'alice', 'alice-2'))).reply, 'OK');
      assert.equal(answeredBy('alice'), pid);
    }
  });

  test('a malformed request to the serving process gets no OK: a short one a closed connection, an oversized one NO', async () => {
    const short = await through(second, () => rawExchange(d.socket, Buffer.from([0, 9, 0x61, 0x62]), { halfClose: true }));
    assert.equal(short.kind, 'closed');
    const big = await through(second, () => rawExchange(d.socket, Buffer.concat([Buffer.from([0xff, 0xff]), Buffer.alloc(70_000, 0x61)])));
    assert.equal(big.kind, 'reply');
    assert.match(replyString((big as { bytes: Buffer }).bytes), /^NO/);
    assert.equal((await through(second, () => login(d.socket, 'alice', 'alice-2'))).reply, 'OK', 'and it still serves');
  });

  test('failures counted in one process hold the address back in the other; a success in either clears it for both', async () => {
    const ip = '192.0.2.31';
    await through(second, async () => {
      await login(d.socket, 'alice', 'guess-1', { ip });
      await login(d.socket, 'alice', 'guess-2', { ip });
    });
    const held = await through(first, () => login(d.socket, 'alice', 'guess-3', { ip }));
    assert.equal(held.reply, 'NO Incorrect password');
    assert.ok(held.ms >= 3900, `the first process held the address ${held.ms} ms for the serving process's two failures`);
    assert.match(await ctl(d, 'penalty', ip), new RegExp(`^${ip.replace(/\./g, '\\.')} failures=3`, 'm'));
    const right = await through(first, () => login(d.socket, 'alice', 'alice-2', { ip }));
    assert.equal(right.reply, 'OK');
    const after = await through(second, () => login(d.socket, 'alice', 'guess-4', { ip }));
    assert.ok(after.ms < 1500, `the success at the first cleared the address at the other too (${after.ms} ms)`);
    await ctl(d, 'penalty-clear', ip);
    // The clear reached the serving process: its next failure starts from none.
    const clean = await through(second, () => login(d.socket, 'alice', 'guess-5', { ip }));
    assert.ok(clean.ms < 1500, `cleared by ctl in both (${clean.ms} ms)`);
  });

  test('a POP login served by the other process is a relay grant in the first\'s store', async () => {
    const ip = '198.51.100.41';
    assert.equal((await through(second, () => login(d.socket, 'alice', 'alice-2', { ip, service: 'pop3' }))).reply, 'OK');
    assert.equal(answeredBy('alice'), second);
    for (let i = 0; i < 50 && !(existsSync(relayFile) && readFileSync(relayFile, 'latin1').includes(ip)); i++) await sleep(100);
    assert.match(readFileSync(relayFile, 'latin1'), new RegExp(`^${ip.replace(/\./g, '\\.')} `, 'm'));
  });

  test('ctl flush and stats, and the metrics, cover both processes', async () => {
    for (const pid of [first, second]) await through(pid, () => login(d.socket, 'alice', 'alice-2'));
    const before = await ctl(d, 'stats');
    assert.equal(stat(before, 'cache_entries'), 3, 'imap in both, pop3 in the serving one');
    assert.match(await ctl(d, 'flush'), /^flushed 3$/m);
    assert.equal(stat(await ctl(d, 'stats'), 'cache_entries'), 0);
    const decided = stat(await ctl(d, 'stats'), 'logins_decided');
    const { body } = await scrape(metricsSock);
    const sum = [...body.matchAll(/^authmux_auth_requests_total\{door="saslauthd",mech="[^"]*",result="[^"]*"\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
    assert.equal(sum, decided, 'the metrics count the logins of both processes');
    assert.match(body, /^authmux_cache_entries 0$/m);
    const check = await promtool(body);
    assert.equal(check.code, 0, `promtool check metrics on the summed exposition:\n${check.output}`);
  });

  test('SIGHUP reloads both: the new password file answers in each', async () => {
    writeFileSync(d.configFile, configText(other));
    process.kill(first, 'SIGHUP');
    for (let i = 0; i < 100 && (d.logs().match(/configuration reloaded/g) ?? []).length < 2; i++) await sleep(100);
    assert.match(d.logs(), new RegExp(`saslauthd\\[${second}\\] :configuration reloaded`));
    for (const pid of [first, second]) {
      assert.equal((await through(pid, () => login(d.socket, 'alice', 'from-other-file'))).reply, 'OK', `process ${pid}`);
      assert.equal(answeredBy('alice'), pid);
    }
  });

  test('a serving process killed mid-request: its client sees the connection close, and it is started again', async () => {
    const ip = '192.0.2.55';
    await through(second, () => login(d.socket, 'alice', 'nope-1', { ip }));
    // Penalised: the next request from there waits 2 s in the serving process, which dies meanwhile.
    process.kill(first, 'SIGSTOP');
    let pending: Promise<{ reply: string; ms: number }>;
    try {
      pending = login(d.socket, 'alice', 'nope-2', { ip, timeoutMs: 10_000 });
      await sleep(500);
      process.kill(second, 'SIGKILL');
    } finally {
      process.kill(first, 'SIGCONT');
    }
    const cut = await pending;
    assert.notEqual(cut.reply, 'timeout', 'no hang');
    assert.doesNotMatch(cut.reply, /^OK/);
    assert.ok(cut.ms < 5000, `answered or closed in ${cut.ms} ms`);
    await d.waitForLog(/serving process 1 \(pid \d+\) killed by SIGKILL; starting it again/);
    await d.waitForLog(/serving process 1 started again \(pid \d+\)/);
    const again = Number(/serving process 1 started again \(pid (\d+)\)/.exec(d.logs())![1]);
    assert.ok(alive(again));
    second = again;
    assert.equal((await through(second, () => login(d.socket, 'alice', 'from-other-file'))).reply, 'OK');
    assert.equal(answeredBy('alice'), second);
  });

  /** Kills the serving process and waits for the one started in its place; returns its pid. */
  async function replaced(): Promise<number> {
    const count = () => (d.logs().match(/serving process 1 started again/g) ?? []).length;
    const before = count();
    process.kill(second, 'SIGKILL');
    for (let i = 0; i < 150 && count() === before; i++) await sleep(100);
    const pids = [...d.logs().matchAll(/serving process 1 started again \(pid (\d+)\)/g)];
    assert.ok(pids.length > before, 'started again');
    second = Number(pids.at(-1)![1]);
    return second;
  }

  test('a reload while a serving process starts reaches it before it accepts', async () => {
    // The configuration file becomes a FIFO, so the process started in place of a killed one
    // reads it exactly when this test writes it: the old text, and then the reload comes.
    const fifo = join(base, 'conf.fifo');
    execFileSync('mkfifo', [fifo]);
    renameSync(fifo, d.configFile);
    const reloadsBefore = (d.logs().match(new RegExp(`saslauthd\\[${first}\\] :configuration reloaded`, 'g')) ?? []).length;
    const restarted = replaced();
    await writeFile(d.configFile, configText(other));
    writeFileSync(join(base, 'conf.new'), configText(etc));
    renameSync(join(base, 'conf.new'), d.configFile);
    process.kill(first, 'SIGHUP');
    for (let i = 0; i < 100 && (d.logs().match(new RegExp(`saslauthd\\[${first}\\] :configuration reloaded`, 'g')) ?? []).length === reloadsBefore; i++) await sleep(50);
    await restarted;
    assert.equal((await through(second, () => login(d.socket, 'alice', 'from-other-file'))).reply, 'NO Incorrect password', 'the new process serves the configuration it was started with');
    assert.equal((await through(second, () => login(d.socket, 'alice', 'alice-2'))).reply, 'OK');
    assert.equal(answeredBy('alice'), second);
  });

  test("a serving process started again takes the first's failure counts; its success clears them for all", async () => {
    const ip = '192.0.2.77';
    await through(first, async () => {
      for (const guess of ['r-1', 'r-2', 'r-3']) await login(d.socket, 'alice', guess, { ip });
    });
    await replaced();
    const held = await through(second, () => login(d.socket, 'alice', 'r-4', { ip }));
    assert.ok(held.ms >= 3900, `the new process held the address ${held.ms} ms`);
    assert.equal((await through(second, () => login(d.socket, 'alice', 'alice-2', { ip }))).reply, 'OK');
    const afterwards = await through(first, () => login(d.socket, 'alice', 'r-5', { ip }));
    assert.ok(afterwards.ms < 1500, `the new process's success cleared the address at the first (${afterwards.ms} ms)`);
  });

  test('summed counters never go down: a process that does not answer counts with its last answer, a dead one with its last counts', async () => {
    for (const pid of [first, second]) await through(pid, () => login(d.socket, 'alice', 'alice-2'));
    const name = 'authmux_auth_requests_total';
    const seen = total((await scrape(metricsSock)).body, name);
    process.kill(second, 'SIGSTOP');
    let stalled: string;
    try {
      stalled = (await scrape(metricsSock)).body;
    } finally {
      process.kill(second, 'SIGCONT');
    }
    assert.equal(total(stalled, name), seen, 'a stopped process still counted');
    await replaced();
    const afterRestart = (await scrape(metricsSock)).body;
    assert.equal(total(afterRestart, name), seen, 'a dead process\'s counts kept');
    assert.match(afterRestart, /^authmux_process_max_fds \d+$/m);
    const fds = Number(/^authmux_process_max_fds (\d+)$/m.exec(afterRestart)![1]);
    assert.equal(fds, Number(readFileSync(`/proc/${first}/limits`, 'latin1').match(/Max open files\s+(\d+)/)![1]), 'the limit is one process\'s, not a sum');
  });

  test('a serving process that keeps dying is started again after longer and longer waits', async () => {
    const waits: number[] = [];
    for (let i = 0; i < 3; i++) {
      await replaced();
      waits.push(Number([...d.logs().matchAll(/serving process 1 \(pid \d+\) killed by SIGKILL; starting it again in (\d+) ms/g)].at(-1)![1]));
    }
    assert.ok(waits[1]! > waits[0]! && waits[2]! > waits[1]!, `waits grew: ${waits.join(', ')}`);
  });

  test('SIGTERM to the first stops both and removes the socket', async () => {
    assert.equal(await d.stop(), 0);
    for (let i = 0; i < 50 && alive(second); i++) await sleep(100);
    assert.equal(alive(second), false, 'the serving process is gone');
    assert.equal(existsSync(d.socket), false);
  });
});

describe('serve_processes: the first process killed', () => {
  test('the serving process stops with it: nothing is left accepting on the socket', async () => {
    const etc = new EtcTree(join(tempDir('authmux-serving-orphan-'), 'root'));
    etc.addUser({ name: 'bob', uid: 5302, home: '/' });
    etc.chpasswd('SHA512', [['bob', 'bob-pw']]);
    const d = await startDaemon({ args: ['-a', 'shadow'], config: `passwd_file: ${etc.passwd}\nshadow_file: ${etc.shadow}\nserve_processes: 2\n` });
    await d.waitForLog(/serving processes: \d+ accept on/);
    const serving = Number(/serving processes: (\d+) accept on/.exec(d.logs())![1]);
    d.proc.kill('SIGKILL');
    for (let i = 0; i < 100 && alive(serving); i++) await sleep(100);
    assert.equal(alive(serving), false, 'no orphan left serving');
  });
});
