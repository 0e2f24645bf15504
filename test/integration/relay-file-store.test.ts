import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { askDaemon } from '../../src/doors/checkpassword/ask-daemon.js';
import { askSaslauthd } from '../../src/cli/testsaslauthd.js';
import { parseGrantLines } from '../../src/relay/grant-lines.js';
import { fd3Input, runCheckpassword } from '../helpers/checkpassword.js';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { mkpasswd, tempDir } from '../helpers/fixtures.js';
import { SocketmapClient } from '../helpers/socketmap-client.js';
import { VpopmailDb } from '../helpers/vpopmail-db.js';
import { login, makeSite, relayCli, until } from '../helpers/relay-site.js';

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
