import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { tempDir } from '../helpers/fixtures.js';
import { MountNamespace } from '../helpers/mount-namespace.js';
import { commOf, daemonsOf, ensurePackaged, PACKAGED, parentOf, processesOf } from '../helpers/packaged.js';
import { PrivateAccounts } from '../helpers/private-accounts.js';

/**
 * Debian's own /etc/init.d/saslauthd (sasl2-bin) driving dist/saslauthd
 * installed as /usr/sbin/saslauthd, as on a container or a host without
 * systemd. start-stop-daemon finds the daemon by its pid file, by
 * /proc/PID/exe and by name, so each step counts the processes whose
 * executable is the packaged file. Everything the script touches (the
 * binary, /etc/default/saslauthd, /run/saslauthd, the account files) is a
 * mount in a private namespace: the machine's own stay as they are.
 */

/** A value of MECHANISMS= in /etc/default/saslauthd, with anything more it needs mounted. */
interface Mechanism {
  readonly mechanisms: string;
  /** [source, target] pairs to bind-mount, made under `dir`; the system accounts are mounted for every mechanism. */
  readonly mounts?: (dir: string) => Array<readonly [string, string]>;
}

// Another mechanism is one more entry. pam as Debian ships it: testsaslauthd's
// service (imap) has no file, so /etc/pam.d/other decides, which includes
// common-auth and common-account: pam_unix over the mounted account files.
const MECHANISMS: readonly Mechanism[] = [{ mechanisms: 'pam' }, { mechanisms: 'shadow' }];

const RUN_DIR = '/run/saslauthd';
const USER = 'initscript-user';
const PASSWORD = 'init-script-pässword';

/** /etc/default/saslauthd as Debian ships it, started, with the mechanism under test. */
const defaults = (mechanisms: string) => `START=yes
DESC="SASL Authentication Daemon"
NAME="saslauthd"
MECHANISMS="${mechanisms}"
MECH_OPTIONS=""
THREADS=5
OPTIONS="-c -m ${RUN_DIR}"
`;

for (const mech of MECHANISMS) {
  describe(`/etc/init.d/saslauthd with MECHANISMS="${mech.mechanisms}" and dist/saslauthd as /usr/sbin/saslauthd`, () => {
    let dir: string;
    let ns: MountNamespace;

    // On a systemd host the script would hand over to systemctl; the script itself is what is tested.
    const initScript = (action: string) => ns.run('/etc/init.d/saslauthd', [action], { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', SYSTEMCTL_SKIP_REDIRECT: '1' });
    const login = (password: string) => ns.run('testsaslauthd', ['-u', USER, '-p', password]);
    const pidFile = async () => {
      const r = await ns.run('cat', [`${RUN_DIR}/saslauthd.pid`]);
      return r.code === 0 ? Number(r.stdout.trim()) : undefined;
    };
    const assertOneServing = async () => {
      const pid = await pidFile();
      assert.deepEqual(daemonsOf(PACKAGED), [pid], 'exactly one daemon, the one the pid file names');
      // Any other process of the file is one of its workers (PAM's), started by it.
      for (const other of processesOf(PACKAGED)) if (other !== pid) assert.equal(parentOf(other), pid);
      assert.equal(commOf(pid!), 'saslauthd');
      const ok = await login(PASSWORD);
      assert.equal(ok.stdout, '0: OK "Success."\n', ok.stderr);
      if (mech.mechanisms === 'pam') assert.ok(processesOf(PACKAGED).some((p) => parentOf(p) === pid), 'PAM ran in a worker: the packaged file started again');
      return pid!;
    };

    before(async () => {
      ensurePackaged();
      dir = tempDir('authmux-initscript-');
      const accounts = new PrivateAccounts(join(dir, 'root'));
      accounts.addUser(USER, PASSWORD);
      writeFileSync(join(dir, 'default'), defaults(mech.mechanisms));
      // The script creates it when missing; a mount needs it to exist, empty, as the package leaves it.
      if (!existsSync(RUN_DIR)) mkdirSync(RUN_DIR, { mode: 0o710 });
      ns = await MountNamespace.open();
      await ns.bind(PACKAGED, '/usr/sbin/saslauthd');
      await ns.bind(join(dir, 'default'), '/etc/default/saslauthd');
      for (const [source, target] of [...accounts.mounts(), ...(mech.mounts?.(dir) ?? [])]) await ns.bind(source, target);
      await ns.tmpfs(RUN_DIR, 0o755);
      const instances = await ns.run('find', ['/etc/default/', '-regex', '/etc/default/saslauthd[_a-zA-Z0-9\\-]*$']);
      assert.equal(instances.stdout, '/etc/default/saslauthd\n', 'the script starts every /etc/default/saslauthd* instance: this machine has others');
    });

    after(() => {
      // A failed step must not leave a daemon behind (only this file's processes are the packaged file).
      if (existsSync(PACKAGED)) for (const pid of processesOf(PACKAGED)) process.kill(pid, 'SIGKILL');
      ns?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    test('start: the daemon forks into its own session as the packaged file, named saslauthd, and writes the pid file', async () => {
      const r = await initScript('start');
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /Starting SASL Authentication Daemon: saslauthd\.$/m);
      const pid = await assertOneServing();
      const stat = (await ns.run('cat', [`/proc/${pid}/stat`])).stdout;
      const [, , , session] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      assert.equal(Number(session), pid, 'a session leader, detached from the script');
    });

    test('testsaslauthd, Debian\'s client on its default socket path: OK for the right password, NO for a wrong one', async () => {
      assert.equal((await login(PASSWORD)).stdout, '0: OK "Success."\n');
      const no = await login('wrong-password');
      assert.equal(no.stdout, '0: NO "authentication failed"\n');
      assert.equal(no.code, 255);
    });

    test('status says running (exit 0); start again finds it running and starts no second one', async () => {
      const status = await initScript('status');
      assert.equal(status.code, 0, status.stdout);
      assert.match(status.stdout, /\(running\)/);
      const pid = await pidFile();
      const again = await initScript('start');
      assert.match(again.stdout, /\(already running\)/);
      assert.equal(await assertOneServing(), pid);
    });

    test('reload sends SIGHUP, and the same daemon goes on serving (SIGHUP unhandled would end it)', async () => {
      const pid = await pidFile();
      const r = await initScript('reload');
      assert.match(r.stdout, /Reloading SASL Authentication Daemon: saslauthd\.$/m, 'start-stop-daemon found the daemon to signal');
      assert.equal(await assertOneServing(), pid);
    });

    test('restart leaves exactly one daemon, a new one, serving', async () => {
      const before = await pidFile();
      const r = await initScript('restart');
      assert.doesNotMatch(r.stdout, /failed/, r.stdout + r.stderr);
      const pid = await assertOneServing();
      assert.notEqual(pid, before);
    });

    test('stop leaves no daemon and no pid file; status then exits 3', async () => {
      const r = await initScript('stop');
      assert.match(r.stdout, /Stopping SASL Authentication Daemon: saslauthd\.$/m);
      // The daemon killed its workers on the way out; the kernel may take a moment to finish them.
      for (let i = 0; i < 40 && processesOf(PACKAGED).length > 0; i++) await sleep(50);
      assert.deepEqual(processesOf(PACKAGED), []);
      assert.equal(await pidFile(), undefined);
      const status = await initScript('status');
      assert.equal(status.code, 3);
      assert.match(status.stdout, /\(not running\)/);
    });
  });
}

describe('dist/saslauthd loads native packages only from where no other user could change them', () => {
  test('a koffi that another user owns, named by AUTHMUX_HOME, stops the start with a line naming it', () => {
    ensurePackaged();
    const home = tempDir('authmux-native-');
    const pkg = join(home, 'node_modules', 'koffi');
    mkdirSync(pkg, { recursive: true });
    // What root would run at start, were it loaded.
    writeFileSync(join(pkg, 'index.js'), `require('fs').writeFileSync(${JSON.stringify(join(home, 'ran'))}, 'loaded')`);
    writeFileSync(join(pkg, 'package.json'), '{"name":"koffi","main":"index.js"}');
    chownSync(pkg, 65534, 65534);
    const r = spawnSync(PACKAGED, ['-d', '-a', 'shadow', '-m', join(home, 'run')], { env: { PATH: process.env['PATH'], AUTHMUX_HOME: home }, timeout: 10_000 });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr.toString(), /native package koffi: refusing .*belongs to uid 65534/);
    assert.equal(existsSync(join(home, 'ran')), false, 'nothing of it was loaded');
  });
});
