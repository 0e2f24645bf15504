import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { tempDir } from './fixtures.js';

export const REPO = resolve(import.meta.dirname, '../../..');
export const BIN = join(REPO, 'bin/authmux');

export interface RunningDaemon {
  readonly proc: ChildProcess;
  readonly runDir: string;
  readonly socket: string;
  readonly configFile: string;
  /** Everything the daemon wrote to stderr so far. */
  logs(): string;
  /** Resolves when a log line matching `re` has appeared. */
  waitForLog(re: RegExp, timeoutMs?: number): Promise<void>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface DaemonOptions {
  readonly args?: readonly string[];
  /** Config file text; written to a file passed with -O. */
  readonly config?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Log to this file (config log_target, -f) instead of stderr (-d); logs() and waitForLog() read it. */
  readonly logFile?: string;
  /** A command the daemon is started through (nsenter into a namespace...). */
  readonly launcher?: readonly string[];
}

/** Starts `authmux saslauthd -d` in its own run directory and waits for its socket. */
export async function startDaemon(opts: DaemonOptions = {}): Promise<RunningDaemon> {
  const dir = tempDir('authmux-daemon-');
  const mIdx = opts.args?.indexOf('-m') ?? -1;
  const runDir = mIdx >= 0 ? opts.args![mIdx + 1]! : join(dir, 'run');
  const configFile = join(dir, 'saslauthd.conf');
  writeFileSync(configFile, (opts.config ?? '') + (opts.logFile ? `\nlog_target: ${opts.logFile}\n` : ''));
  // A caller that gives -O itself means rimap's IMAP server: the file then goes by AUTHMUX_CONFIG.
  const ownO = opts.args?.includes('-O') === true;
  const args = ['saslauthd', opts.logFile ? '-f' : '-d', ...(mIdx >= 0 ? [] : ['-m', runDir]), ...(ownO ? [] : ['-O', configFile]), ...(opts.args ?? [])];
  const env = { ...process.env, ...(ownO ? { AUTHMUX_CONFIG: configFile } : {}), ...opts.env };
  const [cmd, ...pre] = [...(opts.launcher ?? []), BIN];
  const proc = spawn(cmd!, [...pre, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let stdio = '';
  proc.stderr!.on('data', (c: Buffer) => (stdio += c.toString()));
  proc.stdout!.on('data', (c: Buffer) => (stdio += c.toString()));
  const fileText = () => {
    try {
      return readFileSync(opts.logFile!, 'latin1');
    } catch {
      return '';
    }
  };
  const logs = () => (opts.logFile ? stdio + fileText() : stdio);
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  const socket = join(runDir, 'mux');
  const waitForLog = async (re: RegExp, timeoutMs = 10_000) => {
    const end = Date.now() + timeoutMs;
    while (!re.test(logs())) {
      if (Date.now() > end) throw new Error(`log ${re} not seen; log so far:\n${logs()}`);
      if (proc.exitCode !== null) throw new Error(`daemon exited (${proc.exitCode}) before ${re}:\n${logs()}`);
      await sleep(20);
    }
  };
  try {
    await waitForLog(/listening on/);
    if (!existsSync(socket)) throw new Error(`no socket at ${socket}`);
  } catch (err) {
    proc.kill('SIGKILL');
    throw err;
  }
  return {
    proc,
    runDir,
    socket,
    configFile,
    logs,
    waitForLog,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null) proc.kill(signal);
      return exited;
    },
  };
}

/** Runs a command to completion and returns its status and output. */
export function run(cmd: string, args: readonly string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolveRun) => {
    const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    // A program that never reads stdin may exit first: its closed pipe is not an error here.
    p.stdin.on('error', () => undefined);
    p.stdin.end(opts.input ?? '');
    p.on('close', (code) => resolveRun({ code, stdout, stderr }));
  });
}

/** The real Cyrus client from sasl2-bin. */
export function testsaslauthd(socket: string, user: string, password: string, extra: readonly string[] = []) {
  return run('testsaslauthd', ['-u', user, '-p', password, '-f', socket, ...extra]);
}
