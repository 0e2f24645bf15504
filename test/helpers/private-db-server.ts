import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, tempDir } from './fixtures.js';

async function until(what: string, ok: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`${what}: not ready after ${timeoutMs} ms`);
    await sleep(100);
  }
}

function succeeds(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * A MariaDB server of the test's own (its own data directory and socket), so
 * that a test can stop and restart it, or give it a short wait_timeout,
 * without touching the machine's server.
 */
export class PrivateMariaDb {
  readonly dir = tempDir('authmux-mariadb-');
  readonly socket = join(this.dir, 'sock');
  private proc: ChildProcess | undefined;

  constructor(private extraArgs: readonly string[] = []) {
    execFileSync('mariadb-install-db', ['--no-defaults', `--datadir=${join(this.dir, 'data')}`, '--user=root', '--auth-root-authentication-method=normal', '--skip-test-db'], { stdio: 'ignore' });
  }

  /** `extraArgs`, when given, replace the constructor's for this start and the later ones (a restart in another sql_mode). */
  async start(extraArgs?: readonly string[]): Promise<void> {
    if (extraArgs) this.extraArgs = extraArgs;
    this.proc = spawn('mariadbd', [
      '--no-defaults', `--datadir=${join(this.dir, 'data')}`, `--socket=${this.socket}`, '--skip-networking',
      `--pid-file=${join(this.dir, 'pid')}`, '--user=root', `--log-error=${join(this.dir, 'error.log')}`, ...this.extraArgs,
    ], { stdio: 'ignore' });
    await until('private mariadbd', () => succeeds('mariadb-admin', [`--socket=${this.socket}`, '-uroot', 'ping']));
  }

  /** A clean shutdown, as `systemctl stop mariadb` does it; resolves when the process has exited. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill(signal);
    await exited;
  }

  sql(statement: string): string {
    return execFileSync('mariadb', [`--socket=${this.socket}`, '-uroot', '-N', '-e', statement]).toString();
  }

  url(database: string): string {
    return `mysql://root@localhost/${database}?socket=${this.socket}`;
  }
}

/** A PostgreSQL cluster of the test's own, made and started with Debian's pg_createcluster / pg_ctlcluster. */
export class PrivatePgCluster {
  readonly version = readdirSync('/etc/postgresql').sort().at(-1)!;
  readonly name = `authmux${process.pid}`;

  private constructor(readonly port: number) {
    execFileSync('pg_createcluster', [this.version, this.name, '-p', String(port), '--', '--auth=trust'], { stdio: 'ignore' });
  }

  /** On a port that was free a moment ago: a fixed one collided with whatever else the machine runs. */
  static async create(): Promise<PrivatePgCluster> {
    return new PrivatePgCluster(await freePort());
  }

  private ctl(action: string, extra: string[] = []): void {
    try {
      execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', ...extra, this.version, this.name, action], { stdio: 'pipe' });
    } catch (e) {
      const err = e as { stderr?: Buffer; message: string };
      throw new Error(`pg_ctlcluster ${action}: ${err.stderr?.toString().trim() || err.message}`);
    }
  }

  async start(): Promise<void> {
    this.ctl('start');
    await until('private PostgreSQL', () => succeeds('pg_isready', ['-q', '-h', '127.0.0.1', '-p', String(this.port)]));
  }

  /** A fast shutdown: the server ends every session, as on a restart. */
  stop(): void {
    this.ctl('stop', ['-m', 'fast']);
  }

  sql(statement: string, database = 'postgres'): string {
    return execFileSync('psql', ['-h', '127.0.0.1', '-p', String(this.port), '-U', 'postgres', '-d', database, '-qAtc', statement]).toString();
  }

  url(database: string): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  drop(): void {
    try {
      execFileSync('pg_dropcluster', ['--stop', this.version, this.name], { stdio: 'ignore' });
    } catch {
      // Already gone.
    }
  }
}
