import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { askSaslauthd } from '../../src/cli/testsaslauthd.js';
import { fd3Input, runCheckpassword, writeProbe } from '../helpers/checkpassword.js';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { EtcTree, tempDir } from '../helpers/fixtures.js';

const NOBODY = 65534;
const PROBE = writeProbe();

/**
 * A client run as nobody: sends counted strings to a socket and prints the
 * first counted string of the reply, or serves one canned reply (`serve`).
 */
const CLIENT = `
const net = require('node:net');
const [mode, path, ...fields] = process.argv.slice(2);
const counted = (xs) => Buffer.concat(xs.flatMap((x) => { const b = Buffer.from(x, 'latin1'); const l = Buffer.alloc(2); l.writeUInt16BE(b.length); return [l, b]; }));
if (mode === 'ask') {
  const s = net.connect(path, () => s.write(counted(fields)));
  let buf = Buffer.alloc(0);
  s.on('data', (c) => { buf = Buffer.concat([buf, c]); if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) { process.stdout.write(buf.toString('latin1', 2, 2 + buf.readUInt16BE(0))); s.destroy(); } });
  s.on('error', (e) => { process.stdout.write('error ' + e.code); });
} else {
  net.createServer((c) => { c.on('data', () => c.end(counted(fields))); }).listen(path, () => process.stdout.write('listening\\n'));
}
`;

function asNobody(args: readonly string[], script: string): Promise<string> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [script, ...args], { uid: NOBODY, gid: NOBODY, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (c: Buffer) => (out += c.toString('latin1')));
    p.on('close', () => resolve(out));
  });
}

describe('peers that are not root or a trusted user are not believed', () => {
  const base = tempDir('authmux-peers-');
  chmodSync(base, 0o755);
  const script = join(base, 'client.cjs');
  writeFileSync(script, CLIENT, { mode: 0o644 });
  const etc = new EtcTree(join(base, 'root'));
  etc.addUser({ name: 'carol', uid: 4242, home: '/tmp' });
  etc.chpasswd('SHA512', [['carol', 'carol-pw']]);
  const runDir = join(base, 'run');
  const relayFile = join(base, 'relayers');
  let d: RunningDaemon;

  before(async () => {
    d = await startDaemon({
      args: ['-m', runDir, '-a', 'shadow'],
      config: [`passwd_file: ${etc.passwd}`, `shadow_file: ${etc.shadow}`, `relay_file: ${relayFile}`, `checkpassword_socket: ${runDir}/checkpassword`].join('\n'),
    });
  });
  after(async () => {
    await d?.stop();
  });

  test('saslauthd socket: the address nobody names opens no relay and reaches no log line; refusals give no reason', async () => {
    assert.equal(await asNobody(['ask', d.socket, 'carol', 'carol-pw', 'pop3', '', '203.0.113.77;4444'], script), 'OK');
    assert.equal(await asNobody(['ask', d.socket, 'nosuchuser', 'x', 'smtp', '', '198.51.100.9;25'], script), 'NO');
    assert.equal(await asNobody(['ask', d.socket, 'carol', 'wrong', 'smtp', '', '198.51.100.9;25'], script), 'NO');
    // Root (the MTA's place) is believed, and told why.
    assert.equal(await askSaslauthd(d.socket, ['carol', 'carol-pw', 'pop3', '', '198.51.100.50;110']), 'OK');
    assert.equal(await askSaslauthd(d.socket, ['nosuchuser', 'x', 'smtp', '', '198.51.100.51;25']), 'NO Invalid username');
    await d.waitForLog(/198\.51\.100\.50 may relay/);
    const held = readFileSync(relayFile, 'latin1');
    assert.match(held, /^198\.51\.100\.50 /m);
    assert.doesNotMatch(held, /203\.0\.113\.77/);
    assert.doesNotMatch(d.logs(), /203\.0\.113\.77|198\.51\.100\.9\b/);
    assert.match(d.logs(), /auth failure: \[user=nosuchuser\] \[service=smtp\] \[realm=\] \[mech=shadow\] \[reason=no such user\]$/m);
  });

  test('checkpassword socket: no address, no challenge and no reason for nobody', async () => {
    const ts = '<1234.5678@mail.example.com>';
    const apop = createHash('md5').update(ts + 'carol-pw').digest('hex');
    // A sniffed APOP answer replayed with its challenge: the challenge is not taken from nobody.
    const replay = await asNobody(['ask', `${runDir}/checkpassword`, 'carol', apop, 'pop3', '', '192.0.2.55', ts], script);
    assert.equal(replay, 'NO login refused');
    assert.equal(await asNobody(['ask', `${runDir}/checkpassword`, 'nosuchuser', 'x', 'pop3', '', '192.0.2.56', ''], script), 'NO login refused');
    assert.equal(await asNobody(['ask', `${runDir}/checkpassword`, 'carol', 'carol-pw', 'pop3', '', '192.0.2.57', ''], script), 'OK');
    await sleep(200);
    assert.doesNotMatch(readFileSync(relayFile, 'latin1'), /192\.0\.2\.5[5-7]/);
  });

  test('the checkpassword program asks only a daemon root set up: a socket nobody serves gets exit 111, nothing runs', async () => {
    const trap = join(base, 'trap');
    mkdirSync(trap);
    chownSync(trap, NOBODY, NOBODY);
    const fake = join(trap, 'cp.sock');
    // The answer a hostile server would give: carol, with root's group and another home.
    const server = spawn(process.execPath, [script, 'serve', fake, 'OK', 'carol', '', 'system', '4242', '0', '/', '/bin/sh', '1', ''], { uid: NOBODY, gid: NOBODY, stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((res) => server.stdout!.once('data', () => res()));
      const conf = join(base, 'fake.conf');
      writeFileSync(conf, `mech: shadow\npasswd_file: ${etc.passwd}\nshadow_file: ${etc.shadow}\ncheckpassword_socket: ${fake}\n`);
      const r = await runCheckpassword(fd3Input('carol', 'anything'), [PROBE], { AUTHMUX_CONFIG: conf });
      assert.equal(r.code, 111, r.stderr);
      assert.equal(r.stdout, '', 'the next program never ran');
      assert.match(r.stderr, new RegExp(`checkpassword_socket: refusing ${trap}: ${trap} belongs to uid ${NOBODY}`));
    } finally {
      server.kill();
    }
  });
});
