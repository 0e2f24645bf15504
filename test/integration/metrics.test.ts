import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeRequest } from '../../src/protocol/saslauthd.js';
import { b64, DovecotRawClient } from '../helpers/dovecot-client.js';
import { BIN, startDaemon, testsaslauthd, type RunningDaemon } from '../helpers/daemon.js';
import { EtcTree, freePort, tempDir } from '../helpers/fixtures.js';
import { rawExchange, replyString } from '../helpers/raw-client.js';
import { promtool, sample, scrape } from '../helpers/scrape.js';

/** One saslauthd request from the MTA (root: the fifth field is believed). */
async function login(socket: string, user: string, password: string, service: string, ip: string): Promise<string> {
  const r = await rawExchange(socket, encodeRequest([user, password, service, '', `${ip};25`]), { timeoutMs: 30_000 });
  return r.kind === 'reply' ? replyString(r.bytes) : r.kind;
}


function users(): EtcTree {
  const etc = new EtcTree(join(tempDir('authmux-metrics-'), 'root'));
  etc.addUser({ name: 'alice', uid: 5401 });
  etc.chpasswd('SHA512', [['alice', 'alice-pass']]);
  return etc;
}

const requests = (result: string) => `{door="saslauthd",mech="shadow",result="${result}"}`;

describe('metrics on 127.0.0.1:<port>, scraped after real logins', () => {
  let d: RunningDaemon;
  let at: string;
  const etc = users();
  const dovecotSocket = join(tempDir('authmux-metrics-dovecot-'), 'auth');
  before(async () => {
    at = `127.0.0.1:${await freePort()}`;
    d = await startDaemon({ args: ['-a', 'shadow', '-c'], config: `passwd_file: ${etc.passwd}\nshadow_file: ${etc.shadow}\nmetrics_listen: ${at}\ndovecot_socket: ${dovecotSocket}\n` });
  });
  after(async () => {
    await d?.stop();
  });

  test('counters follow ok, fail, cache hits, the penalty and a relay grant; promtool accepts the scrape', async () => {
    assert.match(d.logs(), new RegExp(`metrics on ${at.replace(/\./g, '\\.')}`));
    assert.doesNotMatch(d.logs(), /beyond loopback/);
    const before = await scrape(at);
    assert.equal(before.status, 200);
    assert.equal(sample(before.body, 'authmux_cache_entries'), 0);

    assert.equal((await testsaslauthd(d.socket, 'alice', 'alice-pass')).code, 0);
    assert.equal((await testsaslauthd(d.socket, 'alice', 'alice-pass')).code, 0, 'the second from the cache');
    assert.notEqual((await testsaslauthd(d.socket, 'alice', 'wrong')).code, 0);
    assert.equal(await login(d.socket, 'alice', 'guess-1', 'smtp', '192.0.2.20'), 'NO Incorrect password');
    const started = Date.now();
    assert.equal(await login(d.socket, 'alice', 'guess-2', 'smtp', '192.0.2.20'), 'NO Incorrect password');
    assert.ok(Date.now() - started >= 1900, 'held back by the penalty');
    assert.equal(await login(d.socket, 'alice', 'alice-pass', 'pop3', '198.51.100.7'), 'OK');
    await d.waitForLog(/relay: 198\.51\.100\.7 may relay/);
    const c = await DovecotRawClient.open(dovecotSocket);
    try {
      await c.handshake();
      c.send(`AUTH\t1\tPLAIN\tservice=smtp\tnologin\trip=198.51.100.8\tresp=${b64('\0alice\0alice-pass')}\n`);
      assert.match(await c.line(), /^OK\t1\t/);
      c.send(`AUTH\t2\tPLAIN\tservice=smtp\tnologin\trip=198.51.100.9\tresp=${b64('\0alice\0wrong')}\n`);
      assert.match(await c.line(), /^FAIL\t2\t/);
    } finally {
      c.close();
    }

    const { status, contentType, body } = await scrape(at);
    assert.equal(status, 200);
    assert.match(contentType, /^text\/plain; version=0\.0\.4/);
    assert.equal(sample(body, 'authmux_auth_requests_total', requests('ok')), 3, body);
    assert.equal(sample(body, 'authmux_auth_requests_total', requests('fail')), 3);
    assert.equal(sample(body, 'authmux_auth_requests_total', requests('tempfail')), 0);
    assert.equal(sample(body, 'authmux_auth_duration_seconds_count', '{door="saslauthd"}'), 6);
    assert.equal(sample(body, 'authmux_auth_requests_total', '{door="dovecot",mech="shadow",result="ok"}'), 1);
    assert.equal(sample(body, 'authmux_auth_requests_total', '{door="dovecot",mech="shadow",result="fail"}'), 1);
    assert.equal(sample(body, 'authmux_auth_duration_seconds_count', '{door="dovecot"}'), 2);
    assert.equal(sample(body, 'authmux_auth_duration_seconds_count', '{door="checkpassword"}'), 0);
    assert.equal(sample(body, 'authmux_cache_hits_total'), 1);
    assert.equal(sample(body, 'authmux_cache_misses_total'), 7);
    // alice for imap (testsaslauthd's service), pop3 and smtp.
    assert.equal(sample(body, 'authmux_cache_entries'), 3);
    assert.equal(sample(body, 'authmux_penalty_delayed_total'), 1);
    assert.equal(sample(body, 'authmux_relay_grants_total'), 1);
    assert.equal(sample(body, 'authmux_backend_errors_total', '{mech="shadow"}'), undefined);
    assert.ok(sample(body, 'authmux_process_start_time_seconds')! > 0);
    assert.ok(sample(body, 'authmux_process_open_fds')! > 0);
    const check = await promtool(body);
    assert.equal(check.code, 0, `promtool check metrics:\n${check.output}`);
  });

  test('only GET /metrics', async () => {
    assert.equal((await scrape(at, '/')).status, 404);
    assert.equal((await scrape(at, '/metrics', 'POST')).status, 404);
  });

  test('a local user holding every connection (kept alive after a request, or dribbling headers) does not lock the scraper out', async () => {
    const dir = tempDir('authmux-metrics-hold-');
    chmodSync(dir, 0o755);
    const script = join(dir, 'hold.cjs');
    const [host, port] = at.split(':');
    writeFileSync(script, `const net = require('node:net');
let up = 0;
const hold = (first) => { const s = net.connect(${port}, '${host}', () => { s.write(first); if (++up === 100) process.stdout.write('held\\n'); }); s.on('error', () => {}); s.on('data', () => {}); return s; };
const slow = [];
for (let i = 0; i < 64; i++) hold('GET /metrics HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n');
for (let i = 0; i < 36; i++) slow.push(hold('GET /metrics HTTP/1.1\\r\\nX: '));
setInterval(() => { for (const s of slow) if (!s.destroyed) s.write('a'); }, 200);
setTimeout(() => process.exit(0), 20000);`, { mode: 0o644 });
    const holder = spawn(process.execPath, [script], { uid: 65534, gid: 65534, stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve) => holder.stdout!.once('data', () => resolve()));
      await sleep(300);
      for (let i = 0; i < 3; i++) {
        const r = await fetch(`http://${at}/metrics`, { signal: AbortSignal.timeout(3000) }).then((x) => String(x.status), (e: Error) => `error ${e.message}`);
        assert.equal(r, '200', `scrape ${i + 1} while uid 65534 holds the connections`);
      }
    } finally {
      holder.kill('SIGKILL');
    }
  });

  test('SIGHUP empties the cache: the gauge follows the new one', async () => {
    d.proc.kill('SIGHUP');
    await d.waitForLog(/configuration reloaded/);
    assert.equal(sample((await scrape(at)).body, 'authmux_cache_entries'), 0);
  });
});

describe('metrics on a Unix socket', () => {
  const etc = users();
  const dir = tempDir('authmux-metrics-sock-');
  const path = join(dir, 'metrics');
  let d: RunningDaemon;
  before(async () => {
    d = await startDaemon({ args: ['-a', 'shadow'], config: `passwd_file: ${etc.passwd}\nshadow_file: ${etc.shadow}\nmetrics_listen: ${path}\n` });
  });
  after(async () => {
    await d?.stop();
  });

  test('made 0600, scraped, passes promtool, and removed at stop', async () => {
    const st = statSync(path);
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o600);
    assert.equal((await testsaslauthd(d.socket, 'alice', 'alice-pass')).code, 0);
    assert.notEqual((await testsaslauthd(d.socket, 'alice', 'nope')).code, 0);
    const { status, body } = await scrape(path);
    assert.equal(status, 200);
    assert.equal(sample(body, 'authmux_auth_requests_total', requests('ok')), 1);
    assert.equal(sample(body, 'authmux_auth_requests_total', requests('fail')), 1);
    assert.equal(sample(body, 'authmux_cache_hits_total'), 0, 'no cache: nothing counted');
    assert.equal(sample(body, 'authmux_cache_misses_total'), 0);
    const check = await promtool(body);
    assert.equal(check.code, 0, check.output);
    await d.stop();
    assert.equal(existsSync(path), false);
  });
});

describe('metrics socket passed by systemd-socket-activate (FileDescriptorName=metrics)', () => {
  const etc = users();
  const dir = tempDir('authmux-metrics-sd-');
  const mux = join(dir, 'mux');
  const metrics = join(dir, 'metrics');
  let proc: ChildProcess;
  let log = '';
  before(async () => {
    writeFileSync(join(dir, 'conf'), `passwd_file: ${etc.passwd}\nshadow_file: ${etc.shadow}\nlog_target: stderr\nmetrics_listen: ${metrics}\n`);
    proc = spawn('systemd-socket-activate', ['-l', mux, '-l', metrics, '--fdname=mux:metrics', '-E', 'AUTHMUX_CONFIG=', BIN, 'saslauthd', '-f', '-a', 'shadow', '-m', join(dir, 'run'), '-O', join(dir, 'conf')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stderr!.on('data', (c: Buffer) => (log += c.toString()));
    for (let i = 0; i < 100 && !(existsSync(mux) && existsSync(metrics)); i++) await sleep(20);
  });
  after(() => {
    proc?.kill('SIGTERM');
  });

  test('a scrape starts the daemon, which answers on the passed socket and leaves it in place at stop', async () => {
    const first = await scrape(metrics);
    assert.equal(first.status, 200, log);
    assert.match(log, /socket activation: metrics \(.*\) on fd 4/);
    assert.equal((await testsaslauthd(mux, 'alice', 'alice-pass')).code, 0, log);
    assert.equal(sample((await scrape(metrics)).body, 'authmux_auth_requests_total', requests('ok')), 1);
    const exited = new Promise((r) => (proc.exitCode !== null ? r(null) : proc.once('exit', r)));
    proc.kill('SIGTERM');
    await exited;
    assert.ok(statSync(metrics).isSocket(), 'systemd\'s socket stays');
  });
});
