import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { askDaemon } from '../../src/doors/checkpassword/ask-daemon.js';
import { askSaslauthd } from '../../src/cli/testsaslauthd.js';
import { buildCdb } from '../../src/cdb/writer.js';
import { compileRules } from '../../src/cdb/tcprules.js';
import { relayRulesText } from '../../src/relay/publishers/tcp-cdb.js';
import { parseGrantLines } from '../../src/relay/grant-lines.js';
import { fd3Input, runCheckpassword, writeProbe } from '../helpers/checkpassword.js';
import { BIN, run, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { EtcTree, mkpasswd, tempDir } from '../helpers/fixtures.js';
import { makemapHash } from '../helpers/makemap.js';
import { PrivatePostfix } from '../helpers/postfix.js';
import { PrivateRedisCluster } from '../helpers/redis-cluster.js';
import { SocketmapClient } from '../helpers/socketmap-client.js';
import { VpopmailDb } from '../helpers/vpopmail-db.js';

const PROBE = writeProbe();

/** A world-traversable directory (Postfix's smtpd runs as postfix) with a shadow user carol. */
function makeSite() {
  const dir = tempDir('authmux-relay-');
  chmodSync(dir, 0o755);
  const etc = new EtcTree(join(dir, 'root'));
  etc.addUser({ name: 'carol', uid: 4242, home: '/tmp' });
  etc.chpasswd('SHA512', [['carol', 'carol-pw']]);
  return { dir, etc, base: ['mech: shadow', `passwd_file: ${etc.passwd}`, `shadow_file: ${etc.shadow}`] };
}

function login(d: RunningDaemon, service: string, clientAddr: string): Promise<string> {
  return askSaslauthd(d.socket, ['carol', 'carol-pw', service, '', clientAddr]);
}

function relayCli(config: string, ...args: string[]) {
  return run(BIN, ['relay', '-O', config, ...args]);
}

/** swaks from `from` (a loopback address) to a remote recipient; the RCPT reply code. */
function relayAttempt(port: number, from: string): string {
  const r = spawnSync('swaks', ['--server', `127.0.0.1:${port}`, '--local-interface', from, '--to', 'someone@remote.example', '--from', 'carol@authmux.test', '--quit-after', 'RCPT', '--timeout', '10'], { encoding: 'utf8' });
  const m = /RCPT TO:<someone@remote\.example>\s*\n\s*<[~*-]*\s+(\d{3})/.exec(r.stdout + r.stderr);
  if (!m) throw new Error(`no RCPT reply from swaks:\n${r.stdout}${r.stderr}`);
  return m[1]!;
}

function postmapQuery(key: string, map: string): { code: number | null; out: string } {
  const r = spawnSync('postmap', ['-q', key, map], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout.trim() };
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe('POP-before-SMTP with the real Postfix over the socketmap', () => {
  const site = makeSite();
  const socketmap = join(site.dir, 'relay.socketmap');
  const cpSocket = join(site.dir, 'checkpassword.sock');
  let d: RunningDaemon;
  let postfix: PrivatePostfix;

  before(async () => {
    d = await startDaemon({
      config: [...site.base, `checkpassword_socket: ${cpSocket}`, `relay_socketmap: ${socketmap}`, `relay_file: ${site.dir}/relayers`,
        'relay_ignore: ::1', 'relay_ttl: 3', 'relay_expire_interval: 1'].join('\n'),
    });
    postfix = PrivatePostfix.start(`socketmap:unix:${socketmap}:relay`);
    await until('Postfix to listen', () => {
      try {
        relayAttempt(postfix.port, '127.0.0.5');
        return true;
      } catch {
        return false;
      }
    });
  });
  after(async () => {
    postfix?.stop();
    await d?.stop();
  });

  test('relay denied, a checkpassword POP login from that address, relay permitted, denied again after expiry', async () => {
    assert.equal(relayAttempt(postfix.port, '127.0.0.5'), '554', postfix.log());
    assert.equal(postmapQuery('127.0.0.5', `socketmap:unix:${socketmap}:relay`).code, 1);

    const r = await runCheckpassword(fd3Input('carol', 'carol-pw'), [PROBE], { AUTHMUX_CONFIG: d.configFile, TCPREMOTEIP: '127.0.0.5', TCPLOCALPORT: '110' });
    assert.equal(r.code, 7, r.stderr);
    // The grant is in the store before checkpassword execs the POP session.
    assert.equal(relayAttempt(postfix.port, '127.0.0.5'), '250', postfix.log());
    assert.deepEqual(postmapQuery('127.0.0.5', `socketmap:unix:${socketmap}:relay`), { code: 0, out: 'OK' });
    // Another address is still refused.
    assert.equal(relayAttempt(postfix.port, '127.0.0.6'), '554');

    await sleep(4500);
    assert.equal(relayAttempt(postfix.port, '127.0.0.5'), '554');
    assert.equal(postmapQuery('127.0.0.5', `socketmap:unix:${socketmap}:relay`).code, 1);
    // The daemon's expiry timer has taken it out of the store too.
    assert.equal(parseGrantLines(readFileSync(join(site.dir, 'relayers'), 'latin1')).has('127.0.0.5'), false);
  });

  test("Postfix's socketmap client finds an IPv6 grant in any spelling", async () => {
    assert.equal(postmapQuery('2001:db8::5', `socketmap:unix:${socketmap}:relay`).code, 1);
    assert.equal(await login(d, 'imap', '2001:DB8:0:0::5;143'), 'OK');
    await until('the IPv6 grant', () => postmapQuery('2001:db8::5', `socketmap:unix:${socketmap}:relay`).code === 0);
    assert.deepEqual(postmapQuery('2001:0db8:0000:0000:0000:0000:0000:0005', `socketmap:unix:${socketmap}:relay`), { code: 0, out: 'OK' });
  });

  test('an SMTP AUTH login opens no relay; a wrong password opens none', async () => {
    assert.equal(await login(d, 'smtp', '127.0.0.7;2000'), 'OK');
    assert.match(await askSaslauthd(d.socket, ['carol', 'wrong', 'pop3', '', '127.0.0.8;2000']), /^NO/);
    assert.equal(relayAttempt(postfix.port, '127.0.0.7'), '554');
    assert.equal(relayAttempt(postfix.port, '127.0.0.8'), '554');
  });
});

describe('relay policy and the socketmap protocol', () => {
  const site = makeSite();
  const socketmap = join(site.dir, 'relay.socketmap');
  const file = join(site.dir, 'relayers');
  let d: RunningDaemon;
  let config: string;

  before(async () => {
    d = await startDaemon({ config: [...site.base, `relay_socketmap: ${socketmap}`, `relay_file: ${file}`].join('\n') });
    config = d.configFile;
  });
  after(async () => {
    await d?.stop();
  });

  test('POP and IMAP logins with a client address are granted; SMTP, loopback and malformed addresses are not', async () => {
    const c = await SocketmapClient.open(socketmap);
    assert.equal(await login(d, 'imap', '192.0.2.30;143'), 'OK');
    assert.equal(await login(d, 'pop3', '2001:DB8:0:0::7;110'), 'OK');
    assert.equal(await login(d, 'smtp', '192.0.2.31;25'), 'OK');
    assert.equal(await login(d, 'imap', '127.0.0.9;143'), 'OK');
    assert.equal(await login(d, 'imap', 'not-an-ip;143'), 'OK');
    assert.equal(await login(d, 'imap', '192.0.2.300;143'), 'OK');
    await until('the grants', async () => (await c.lookup('192.0.2.30')) === 'OK OK');
    assert.equal(await c.lookup('2001:db8::7'), 'OK OK', 'IPv6 in any spelling');
    assert.equal(await c.lookup('2001:0db8:0000::0007'), 'OK OK');
    assert.equal(await c.lookup('192.0.2.31'), 'NOTFOUND ');
    assert.equal(await c.lookup('127.0.0.9'), 'NOTFOUND ');
    assert.equal(await c.lookup('not-an-ip'), 'NOTFOUND ');
    assert.deepEqual([...parseGrantLines(readFileSync(file, 'latin1')).keys()].sort(), ['192.0.2.30', '2001:db8::7']);
    c.close();
  });

  test('many lookups on one connection, pipelined; malformed netstrings close the connection and nothing else', async () => {
    const c = await SocketmapClient.open(socketmap);
    const replies = await Promise.all(Array.from({ length: 50 }, (_, i) => c.lookup(i % 2 ? '192.0.2.30' : `198.51.100.${i}`)));
    replies.forEach((r, i) => assert.equal(r, i % 2 ? 'OK OK' : 'NOTFOUND '));
    assert.equal(await c.raw(Buffer.from('5:relay,')), 'PERM request is not "<map> <key>"');
    c.close();
    for (const bad of ['abc,', '9999999:relay x,', '3:abcd', '01:x,', ':relay,']) {
      const b = await SocketmapClient.open(socketmap);
      assert.equal(await b.raw(Buffer.from(bad)), '<closed>', bad);
    }
    const after = await SocketmapClient.open(socketmap);
    assert.equal(await after.lookup('192.0.2.30'), 'OK OK');
    after.close();
  });

  test('authmux relay: add, list, delete, expire, dump on the daemon\'s store, seen by the daemon at once', async () => {
    const c = await SocketmapClient.open(socketmap);
    assert.equal((await relayCli(config, 'add', '203.0.113.9')).code, 0);
    assert.equal(await c.lookup('203.0.113.9'), 'OK OK');
    const old = Math.floor(Date.now() / 1000) - 7200;
    assert.equal((await relayCli(config, 'add', '203.0.113.10', String(old))).code, 0);
    assert.equal(await c.lookup('203.0.113.10'), 'NOTFOUND ', 'a grant older than relay_ttl is not live');
    const list = await relayCli(config, 'list');
    assert.match(list.stdout, /^203\.0\.113\.9 \d+$/m);
    assert.doesNotMatch(list.stdout, /203\.0\.113\.10/);
    assert.match((await relayCli(config, 'dump')).stdout, new RegExp(`^203\\.0\\.113\\.10 ${old}$`, 'm'));
    assert.match((await relayCli(config, 'list', '200')).stdout, /203\.0\.113\.10/);
    assert.equal((await relayCli(config, 'expire')).code, 0);
    assert.doesNotMatch((await relayCli(config, 'dump')).stdout, /203\.0\.113\.10/);
    assert.equal((await relayCli(config, 'delete', '203.0.113.9')).code, 0);
    assert.equal(await c.lookup('203.0.113.9'), 'NOTFOUND ');
    c.close();
  });

  test('a malformed address on the command line is refused and stored nowhere', async () => {
    const before = readFileSync(file, 'latin1');
    for (const bad of ['999.1.1.1', '1.2.3', 'fe80::1%eth0', '192.0.2.1/24', 'x', '', '1.2.3.4 5.6.7.8']) {
      const r = await relayCli(config, 'add', bad);
      assert.equal(r.code, 2, bad);
      assert.match(r.stderr, /not an IPv4 or IPv6 address/);
    }
    assert.equal((await relayCli(config, 'add', '192.0.2.1', 'soon')).code, 2);
    assert.equal(readFileSync(file, 'latin1'), before);
  });
});

describe('relay files for MTAs: the text map for postmap and the tcp.smtp cdb', () => {
  const site = makeSite();
  const map = join(site.dir, 'relay-map');
  const cdb = join(site.dir, 'tcp.smtp.cdb');
  const rules = join(site.dir, 'tcp.smtp');
  const runs = join(site.dir, 'rebuilds');
  let d: RunningDaemon;

  before(async () => {
    writeFileSync(rules, '127.:allow,RELAYCLIENT=""\n# a comment\n10.1.1.1-3:deny\n192.0.2.200:allow,RBLSMTPD="-blocked"\n:allow\n');
    d = await startDaemon({
      config: [...site.base, `relay_file: ${site.dir}/relayers`, `relay_text_map: ${map}`, `relay_cdb: ${cdb}`, `relay_cdb_rules: ${rules}`,
        `relay_rebuild_command: echo run >> ${runs}; postmap hash:"$RELAY_MAP"`].join('\n'),
    });
  });
  after(async () => {
    await d?.stop();
  });

  test('the text map is rebuilt by postmap after grants, coalesced, and postmap -q finds each grant', async () => {
    const ips = Array.from({ length: 150 }, (_, i) => `198.51.100.${i + 1}`);
    const t0 = Math.floor(Date.now() / 1000);
    await Promise.all(ips.map((ip) => login(d, 'pop3', ip)));
    await until('the hashed map', () => postmapQuery(ips[149]!, `hash:${map}`).code === 0);
    for (const ip of [ips[0]!, ips[77]!, ips[149]!]) {
      const q = postmapQuery(ip, `hash:${map}`);
      assert.equal(q.code, 0);
      assert.ok(Number(q.out) >= t0 - 1, `${ip} -> ${q.out}`);
    }
    const text = readFileSync(map, 'latin1');
    assert.equal(text.trim().split('\n').length, 150);
    const rebuilds = readFileSync(runs, 'latin1').trim().split('\n').length;
    assert.ok(rebuilds < 30, `${rebuilds} rebuilds for 150 grants`);
  });

  test("Sendmail's makemap hash accepts the text map, and so does the relay list output", async () => {
    await login(d, 'pop3', '2001:db8::42');
    await until('the IPv6 grant in the map', () => readFileSync(map, 'latin1').includes('2001:db8::42 '));
    const base = join(site.dir, 'sendmail-relay');
    makemapHash(base, readFileSync(map, 'latin1'));
    const dump = execFileSync('db5.3_dump', ['-p', `${base}.db`]).toString();
    assert.match(dump, /^ 2001:db8::42\n \d+$/m);
    assert.match(dump, /^ 198\.51\.100\.77\n \d+$/m);
    const listed = await relayCli(d.configFile, 'list');
    makemapHash(`${base}-list`, listed.stdout);
    assert.match(execFileSync('db5.3_dump', ['-p', `${base}-list.db`]).toString(), /^ 198\.51\.100\.1\n \d+$/m);
  });

  test('the cdb is byte for byte what tcprules writes for the same rules, and tcprulescheck reads it', async () => {
    await login(d, 'imap', '192.0.2.200');
    await until('the cdb', () => existsSync(cdb) && relayGrantsIn(cdb).includes('192.0.2.200'));
    const live = parseGrantLines(readFileSync(join(site.dir, 'relayers'), 'latin1'));
    const text = relayRulesText([...live].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1)), readFileSync(rules, 'latin1'));
    const theirs = join(site.dir, 'tcprules.cdb');
    execFileSync('tcprules', [theirs, `${theirs}.tmp`], { input: text });
    assert.ok(readFileSync(cdb).equals(readFileSync(theirs)), 'same bytes as tcprules');

    const check = (ip: string) => execFileSync('tcprulescheck', [cdb], { env: { TCPREMOTEIP: ip } }).toString();
    assert.match(check('192.0.2.200'), /rule 192\.0\.2\.200:\nset environment variable RELAYCLIENT=\nset environment variable RBLSMTPD=\nallow connection/);
    assert.match(check('10.1.1.2'), /deny connection/);
    assert.match(check('127.0.0.1'), /rule 127\.:\nset environment variable RELAYCLIENT=/);
    assert.match(check('203.0.113.1'), /^rule :\nallow connection/);
  });

  test('random rule sets compile to the bytes tcprules writes', () => {
    for (let round = 0; round < 20; round++) {
      const lines: string[] = [];
      const n = 1 + Math.floor(Math.random() * 400);
      for (let i = 0; i < n; i++) {
        const a = `${10 + (i % 200)}.${Math.floor(Math.random() * 256)}.${Math.floor(Math.random() * 256)}.${Math.floor(Math.random() * 256)}`;
        const kind = Math.random();
        if (kind < 0.5) lines.push(`${a}:allow,RELAYCLIENT="",RBLSMTPD=""`);
        else if (kind < 0.7) lines.push(`${a}:deny`);
        else if (kind < 0.8) lines.push(`${a.split('.').slice(0, 3).join('.')}.1-${1 + Math.floor(Math.random() * 9)}:allow`);
        else if (kind < 0.9) lines.push(`=host${i}.example:allow,X=/v${i}/`);
        else lines.push(`${a.split('.').slice(0, 2).join('.')}.:allow,RELAYCLIENT="@fix"`);
      }
      if (round % 2) lines.push(':allow');
      const text = lines.join('\n') + '\n';
      const out = join(site.dir, `r${round}.cdb`);
      execFileSync('tcprules', [out, `${out}.tmp`], { input: text });
      assert.ok(buildCdb(compileRules(text)).equals(readFileSync(out)), `round ${round}:\n${text.slice(0, 500)}`);
    }
  });
});

/** The addresses holding RELAYCLIENT rules in a cdb, read back through tcprulescheck's view of the records. */
function relayGrantsIn(path: string): string[] {
  const db = readFileSync(path);
  const out: string[] = [];
  let p = 2048;
  const end = db.readUInt32LE(0);
  while (p < end) {
    const kl = db.readUInt32LE(p);
    const dl = db.readUInt32LE(p + 4);
    const data = db.subarray(p + 8 + kl, p + 8 + kl + dl).toString('latin1');
    if (data === '+RELAYCLIENT=\0+RBLSMTPD=\0') out.push(db.subarray(p + 8, p + 8 + kl).toString('latin1'));
    p += 8 + kl + dl;
  }
  return out;
}

describe('relay grants in Redis, shared by two daemons', () => {
  const site = makeSite();
  const prefix = `authmux-test-${randomBytes(4).toString('hex')}:`;
  const lines = [...site.base, 'relay_store: redis', 'relay_redis: redis://127.0.0.1:6379/0', `relay_redis_prefix: ${prefix}`];
  let a: RunningDaemon;
  let b: RunningDaemon;
  const mapB = join(site.dir, 'b.socketmap');

  before(async () => {
    a = await startDaemon({ config: lines.join('\n') });
    b = await startDaemon({ config: [...lines, `relay_socketmap: ${mapB}`].join('\n') });
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    spawnSync('sh', ['-c', `redis-cli --scan --pattern '${prefix}*' | xargs -r redis-cli del`]);
  });

  test('a POP login on one host opens relay on the other, with a native expiry', async () => {
    const c = await SocketmapClient.open(mapB);
    assert.equal(await c.lookup('192.0.2.77'), 'NOTFOUND ');
    assert.equal(await login(a, 'pop3', '192.0.2.77;110'), 'OK');
    await until('the grant on B', async () => (await c.lookup('192.0.2.77')) === 'OK OK');
    const ttl = Number(execFileSync('redis-cli', ['ttl', `${prefix}192.0.2.77`]).toString());
    assert.ok(ttl > 1700 && ttl <= 1800, `ttl ${ttl}`);
    assert.match((await relayCli(a.configFile, 'list')).stdout, /^192\.0\.2\.77 \d+$/m);
    assert.equal((await relayCli(b.configFile, 'delete', '192.0.2.77')).code, 0);
    assert.equal(await c.lookup('192.0.2.77'), 'NOTFOUND ');
    c.close();
  });

  test('Redis unreachable: the socketmap answers TEMP, logins still succeed', async () => {
    const down = join(site.dir, 'down.socketmap');
    const d = await startDaemon({ config: [...site.base, 'relay_store: redis', 'relay_redis: redis://127.0.0.1:1/0', `relay_socketmap: ${down}`].join('\n') });
    try {
      const c = await SocketmapClient.open(down);
      assert.match(await c.lookup('192.0.2.1'), /^TEMP /);
      assert.equal(await login(d, 'pop3', '192.0.2.1;110'), 'OK');
      c.close();
    } finally {
      await d.stop();
    }
  });
});

describe('relay grants in a Redis cluster', () => {
  const site = makeSite();
  let cluster: PrivateRedisCluster;
  let a: RunningDaemon;
  let b: RunningDaemon;
  const mapB = join(site.dir, 'b.socketmap');

  before(async () => {
    cluster = await PrivateRedisCluster.start();
    const lines = [...site.base, 'relay_store: redis', `relay_redis: ${cluster.url}`];
    a = await startDaemon({ config: lines.join('\n') });
    b = await startDaemon({ config: [...lines, `relay_socketmap: ${mapB}`].join('\n') });
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    cluster?.stop();
  });

  test('grants spread over the cluster\'s masters are seen by the other host and listed from every master', async () => {
    const ips = Array.from({ length: 40 }, (_, i) => `192.0.2.${i + 100}`);
    for (const ip of ips) assert.equal(await login(a, 'imap', `${ip};143`), 'OK');
    const c = await SocketmapClient.open(mapB);
    await until('the grants on B', async () => (await c.lookup(ips[39]!)) === 'OK OK');
    for (const ip of ips) assert.equal(await c.lookup(ip), 'OK OK', ip);
    c.close();
    const perMaster = cluster.ports.map((p) => Number(execFileSync('redis-cli', ['-p', String(p), 'dbsize']).toString()));
    assert.ok(perMaster.filter((n) => n > 0).length >= 2, `keys on the masters: ${perMaster}`);
    const listed = (await relayCli(a.configFile, 'list')).stdout.trim().split('\n').map((l) => l.split(' ')[0]);
    assert.deepEqual(listed.sort(), [...ips].sort());
  });
});

describe('the file store survives kill -9 during a stream of grants', () => {
  const site = makeSite();
  const file = join(site.dir, 'relayers');
  const cpSocket = join(site.dir, 'checkpassword.sock');

  test('after the crash the file parses and holds every acknowledged grant', async () => {
    const lines = [...site.base, `checkpassword_socket: ${cpSocket}`, `relay_file: ${file}`];
    for (let round = 0; round < 3; round++) {
      const d = await startDaemon({ config: lines.join('\n') });
      const acked: string[] = [];
      let stop = false;
      const workers = Array.from({ length: 8 }, async (_, w) => {
        for (let i = 0; !stop; i++) {
          const ip = `10.${round}.${w}.${i % 250}`;
          const r = await askDaemon(cpSocket, {
            login: Buffer.from('carol'), password: Buffer.from('carol-pw'), service: Buffer.from('pop3'),
            realm: Buffer.alloc(0), clientAddr: Buffer.from(ip), timestamp: Buffer.alloc(0),
          }, 5000);
          if (r.kind === 'ok') acked.push(ip);
        }
      });
      await sleep(400 + Math.random() * 400);
      d.proc.kill('SIGKILL');
      await d.stop();
      stop = true;
      await Promise.all(workers);
      const text = readFileSync(file, 'latin1');
      for (const line of text.split('\n').filter(Boolean)) assert.match(line, /^[0-9a-f.:]+ \d+$/, `a whole line: ${JSON.stringify(line)}`);
      const held = parseGrantLines(text);
      const lost = acked.filter((ip) => !held.has(ip));
      assert.ok(acked.length > 20, `only ${acked.length} grants acknowledged`);
      assert.deepEqual(lost, [], `round ${round}: acknowledged but lost`);
    }
    // The lock the killed daemon left behind does not block the next writer.
    writeFileSync(join(site.dir, 'cli.conf'), `relay_file: ${file}\n`);
    const add = await relayCli(join(site.dir, 'cli.conf'), 'add', '192.0.2.99');
    assert.equal(add.code, 0, add.stderr);
    assert.ok(parseGrantLines(readFileSync(file, 'latin1')).has('192.0.2.99'));
  });
});

for (const driver of ['mysql', 'pgsql'] as const) {
  describe(`relay grants in vpopmail's relay table on ${driver === 'mysql' ? 'MariaDB' : 'PostgreSQL'}, with NO_RELAY honoured`, () => {
    let db: VpopmailDb;
    let d: RunningDaemon;
    const dir = tempDir('authmux-relay-vp-');

    before(async () => {
      const hash = mkpasswd('sha512crypt', 'vp-pw');
      db = await VpopmailDb.create(driver, 'many-domains', ['example.com']);
      await db.addUsers([
        { name: 'erin', domain: 'example.com', hash },
        { name: 'norelay', domain: 'example.com', hash, flags: 0x20 },
      ]);
      d = await startDaemon({ config: ['mech: vpopmail', `vpopmail_sql: ${db.url}`, 'relay_store: vpopmail', `relay_socketmap: ${join(dir, 'sm')}`].join('\n') });
    });
    after(async () => {
      await d?.stop();
      await db?.drop();
    });

    const rows = () => driver === 'mysql'
      ? execFileSync('mariadb', ['-uroot', '-N', '-e', 'SELECT ip_addr, timestamp FROM relay ORDER BY ip_addr', db.name]).toString().trim().split('\n')
      : execFileSync('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-d', db.name, '-At', '-F', '\t', '-c', 'SELECT ip_addr, timestamp FROM relay ORDER BY ip_addr']).toString().trim().split('\n');

    test('a POP login writes (ip_addr, timestamp) where vpopmail\'s tools read it; NO_RELAY writes nothing; the CLI lists it', async () => {
      assert.equal(await askSaslauthd(d.socket, ['erin@example.com', 'vp-pw', 'pop3', '', '192.0.2.55;110']), 'OK');
      assert.equal(await askSaslauthd(d.socket, ['norelay@example.com', 'vp-pw', 'pop3', '', '192.0.2.56;110']), 'OK');
      const c = await SocketmapClient.open(join(dir, 'sm'));
      await until('the row', async () => (await c.lookup('192.0.2.55')) === 'OK OK');
      const r = rows();
      assert.equal(r.length, 1, r.join('\n'));
      assert.match(r[0]!, /^192\.0\.2\.55\t\d{10}$/);
      assert.equal(await c.lookup('192.0.2.56'), 'NOTFOUND ');
      assert.match((await relayCli(d.configFile, 'list')).stdout, /^192\.0\.2\.55 \d{10}$/m);
      assert.equal((await relayCli(d.configFile, 'delete', '192.0.2.55')).code, 0);
      assert.equal(await c.lookup('192.0.2.55'), 'NOTFOUND ');
      c.close();
    });
  });
}

describe('grants as Unix datagrams (unix-dgram)', () => {
  test('each grant and each deletion arrives as one JSON object', async () => {
    const site = makeSite();
    const path = join(site.dir, 'events');
    const require = createRequire(import.meta.url);
    const unix = require('unix-dgram') as { createSocket(t: string, cb: (msg: Buffer) => void): { bind(p: string): void; close(): void } };
    const got: Array<Record<string, unknown>> = [];
    const listener = unix.createSocket('unix_dgram', (msg) => got.push(JSON.parse(msg.toString()) as Record<string, unknown>));
    listener.bind(path);
    const d = await startDaemon({ config: [...site.base, `relay_file: ${site.dir}/relayers`, `relay_datagram: ${path}`].join('\n') });
    try {
      assert.equal(await login(d, 'imap', '192.0.2.66;143'), 'OK');
      assert.equal((await relayCli(d.configFile, 'delete', '192.0.2.66')).code, 0);
      await until('two events', () => got.length >= 2);
      assert.equal(got[0]!['event'], 'grant');
      assert.equal(got[0]!['ip'], '192.0.2.66');
      assert.equal(Number(got[0]!['until']) - Number(got[0]!['at']), 1800);
      assert.deepEqual(got[1], { event: 'delete', ip: '192.0.2.66' });
    } finally {
      listener.close();
      await d.stop();
    }
  });
});

describe('the file store with several writers', () => {
  const site = makeSite();
  const file = join(site.dir, 'relayers');
  const cpSocket = join(site.dir, 'checkpassword.sock');

  test('checkpassword checking by itself records the grant before the next program runs', async () => {
    const conf = join(site.dir, 'direct.conf');
    writeFileSync(conf, [...site.base, `relay_file: ${file}`].join('\n') + '\n');
    // The next program reads the store: the grant must already be there.
    const r = await runCheckpassword(fd3Input('carol', 'carol-pw'), ['/bin/cat', file], { AUTHMUX_CONFIG: conf, TCPREMOTEIP: '192.0.2.150', TCPLOCALPORT: '995' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^192\.0\.2\.150 \d+$/m);
    const smtp = await runCheckpassword(fd3Input('carol', 'carol-pw'), ['/bin/true'], { AUTHMUX_CONFIG: conf, TCPREMOTEIP: '192.0.2.151', TCPLOCALPORT: '587' });
    assert.equal(smtp.code, 0);
    assert.equal(parseGrantLines(readFileSync(file, 'latin1')).has('192.0.2.151'), false, 'an SMTP login opens no relay');
  });

  test('a writer waits for the lock another holds (util-linux flock), and gives up with 111 after 5 s', async () => {
    const conf = join(site.dir, 'direct.conf');
    const holder = spawn('flock', ['-x', `${file}.lock`, '-c', 'sleep 1.5'], { stdio: 'ignore' });
    const released = new Promise((r) => holder.on('close', r));
    await sleep(200);
    const t0 = Date.now();
    const waited = await relayCli(conf, 'add', '192.0.2.160');
    assert.equal(waited.code, 0, waited.stderr);
    assert.ok(Date.now() - t0 > 1000, 'it waited for the holder');
    await released;
    const stuck = spawn('flock', ['-x', `${file}.lock`, '-c', 'sleep 8'], { stdio: 'ignore' });
    await sleep(200);
    const gaveUp = await relayCli(conf, 'add', '192.0.2.161');
    stuck.kill();
    assert.equal(gaveUp.code, 111);
    assert.match(gaveUp.stderr, /held for over 5 s/);
    const held = parseGrantLines(readFileSync(file, 'latin1'));
    assert.equal(held.has('192.0.2.160'), true);
    assert.equal(held.has('192.0.2.161'), false);
  });

  test('the daemon, checkpassword programs and relay commands writing at once lose nothing', async () => {
    const d = await startDaemon({ config: [...site.base, `checkpassword_socket: ${cpSocket}`, `relay_file: ${file}`].join('\n') });
    try {
      const conf = join(site.dir, 'direct.conf');
      const viaDaemon = Array.from({ length: 60 }, (_, i) => `10.9.0.${i}`);
      const viaCli = Array.from({ length: 12 }, (_, i) => `10.9.1.${i}`);
      const viaDirect = Array.from({ length: 6 }, (_, i) => `10.9.2.${i}`);
      await Promise.all([
        ...viaDaemon.map((ip) => login(d, 'pop3', ip)),
        ...viaCli.map((ip) => relayCli(d.configFile, 'add', ip)),
        ...viaDirect.map((ip) => runCheckpassword(fd3Input('carol', 'carol-pw'), ['/bin/true'], { AUTHMUX_CONFIG: conf, TCPREMOTEIP: ip, TCPLOCALPORT: '110' })),
      ]);
      await until('every grant', () => {
        const held = parseGrantLines(readFileSync(file, 'latin1'));
        return [...viaDaemon, ...viaCli, ...viaDirect].every((ip) => held.has(ip));
      });
    } finally {
      await d.stop();
    }
  });
});

describe('qmail: the real tcpserver reads the cdb on each connection', () => {
  const site = makeSite();
  const cdb = join(site.dir, 'tcp.smtp.cdb');
  const rules = join(site.dir, 'tcp.smtp');
  const port = 22000 + Math.floor(Math.random() * 20000);
  let d: RunningDaemon;
  let server: ReturnType<typeof spawn>;

  /** What the program tcpserver runs saw of RELAYCLIENT, for a connection from `from`; '' when tcpserver dropped it. */
  const relayClientFor = (from: string) => new Promise<string>((resolve) => {
    const s = connect({ port, host: '127.0.0.1', localAddress: from });
    let out = '';
    s.on('data', (c: Buffer) => (out += c.toString()));
    s.on('close', () => resolve(out.trim()));
    s.on('error', () => resolve(out.trim()));
  });

  before(async () => {
    writeFileSync(rules, '127.0.0.6:deny\n:allow\n');
    d = await startDaemon({ config: [...site.base, `relay_file: ${site.dir}/relayers`, 'relay_ignore: ::1', `relay_cdb: ${cdb}`, `relay_cdb_rules: ${rules}`].join('\n') });
    await until('the first cdb', () => existsSync(cdb));
    server = spawn('tcpserver', ['-x', cdb, '-H', '-R', '-l', 'localhost', '127.0.0.1', String(port), 'sh', '-c', 'echo "RELAYCLIENT=${RELAYCLIENT-unset}"'], { stdio: 'ignore' });
    await until('tcpserver', async () => (await relayClientFor('127.0.0.9')) !== '');
  });
  after(async () => {
    server?.kill();
    await d?.stop();
  });

  test('no RELAYCLIENT before the POP login, RELAYCLIENT set after it, the site\'s deny rule kept', async () => {
    assert.equal(await relayClientFor('127.0.0.5'), 'RELAYCLIENT=unset');
    assert.equal(await login(d, 'pop3', '127.0.0.5;110'), 'OK');
    await until('tcpserver to see the grant', async () => (await relayClientFor('127.0.0.5')) === 'RELAYCLIENT=');
    assert.equal(await relayClientFor('127.0.0.7'), 'RELAYCLIENT=unset');
    assert.equal(await relayClientFor('127.0.0.6'), '', 'denied by the base rules');
  });
});
