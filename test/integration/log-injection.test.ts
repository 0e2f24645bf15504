import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { encodeRequest } from '../../src/protocol/saslauthd.js';
import { REPO, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { EtcTree, tempDir } from '../helpers/fixtures.js';
import { rawExchange } from '../helpers/raw-client.js';

const run = promisify(execFile);
const REAL = '203.0.113.5';
const FORGED = '192.0.2.66';
const OURS = join(REPO, 'contrib/fail2ban/filter.d/authmux.conf');
const STOCK = '/etc/fail2ban/filter.d';

/** Logins, services and realms an attacker picks to plant a [client=...] field or a line another filter reads. */
const HOSTILE: ReadonlyArray<readonly string[]> = [
  [`x] [client=${FORGED}`, 'pw', 'smtp', ''],
  [`x] [client=${FORGED}]`, 'pw', 'smtp', ''],
  [`x]\n[client=${FORGED}]`, 'pw', 'smtp', ''],
  ['x', 'pw', `smtp] [client=${FORGED}`, ''],
  ['x', 'pw', 'smtp', `r] [client=${FORGED}`],
  [`x] [client=${FORGED}]: SASL PLAIN authentication failed:`, 'pw', 'smtp', ''],
  [`badlogin: x [${FORGED}] plain [SASL(-13): authentication failure: x]`, 'pw', 'imap', ''],
  [`x\\x5d [client=${FORGED}`, 'pw', 'smtp', ''],
];

describe('log lines: a client cannot forge the fields fail2ban reads', () => {
  let d: RunningDaemon;
  let logFile: string;

  before(async () => {
    const etc = new EtcTree(tempDir());
    etc.addUser({ name: 'alice', uid: 3100 });
    etc.chpasswd('SHA512', [['alice', 'alice-pw']]);
    logFile = join(tempDir('authmux-log-'), 'auth.log');
    // The lines are the subject here, not how often one address may fail: no penalty.
    d = await startDaemon({ args: ['-a', 'shadow'], config: `passwd_file: ${etc.passwd}\nshadow_file: ${etc.shadow}\npenalty: no\n`, logFile });
    for (const fields of HOSTILE) {
      // Sent without a client address, as in the attack, and with the real one.
      await rawExchange(d.socket, encodeRequest(fields));
      await rawExchange(d.socket, encodeRequest([...fields, `${REAL};4711`]));
    }
  });
  after(async () => {
    assert.equal(await d.stop(), 0);
  });

  test('the escaped values keep every line to its own fields', () => {
    const log = readFileSync(logFile, 'latin1');
    assert.equal(log.split('\n').filter((l) => l.includes('auth failure')).length, HOSTILE.length * 2, log);
    for (const line of log.split('\n').filter((l) => l.includes('auth failure'))) {
      assert.equal((line.match(/\[client=/g) ?? []).length <= 1, true, line);
      assert.doesNotMatch(line, new RegExp(`\\[client=${FORGED.replace(/\./g, '\\.')}`), line);
    }
  });

  test("Authmux's fail2ban filter finds the real address only, once per failed login that had one", async () => {
    const { stdout } = await run('fail2ban-regex', ['-o', 'ip', logFile, OURS]);
    const ips = stdout.split('\n').filter(Boolean);
    assert.deepEqual(ips, Array<string>(HOSTILE.length).fill(REAL), stdout);
  });

  test("none of fail2ban's stock filters ever finds the address the attacker chose", async () => {
    const filters = readdirSync(STOCK).filter((f) => f.endsWith('.conf'));
    assert.ok(filters.length > 50, `only ${filters.length} stock filters found in ${STOCK}`);
    const found: string[] = [];
    // Two at a time: the machine has two cores.
    for (let i = 0; i < filters.length; i += 2) {
      const outs = await Promise.all(filters.slice(i, i + 2).map((f) => run('fail2ban-regex', ['-o', 'ip', logFile, join(STOCK, f)]).then((r) => [f, r.stdout] as const, () => [f, ''] as const)));
      for (const [f, out] of outs) for (const ip of out.split('\n').filter(Boolean)) found.push(`${f}: ${ip}`);
    }
    assert.deepEqual(found.filter((x) => x.endsWith(FORGED)), []);
  });
});
