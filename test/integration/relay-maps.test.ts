import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildCdb } from '../../src/cdb/writer.js';
import { compileRules } from '../../src/cdb/tcprules.js';
import { relayRulesText } from '../../src/relay/publishers/tcp-cdb.js';
import { parseGrantLines } from '../../src/relay/grant-lines.js';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { makemapHash } from '../helpers/makemap.js';
import { login, makeSite, postmapQuery, relayCli, relayGrantsIn, until } from '../helpers/relay-site.js';

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
