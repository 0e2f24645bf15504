import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { TempFail } from '../../errors.js';
import { descendantsOf } from '../../os/process-tree.js';
import { singleExecutable } from '../../os/single-executable.js';
import { VerifyQueue } from '../../work-queue.js';
import type { PamOutcome, PamQuestion } from './libpam.js';
import { WORKER_FD } from './worker.js';
import { decodeOutcome, encodeQuestion } from './wire.js';

/** The environment variable that makes the single executable run as a PAM worker. */
export const CHILD_ROLE_VAR = 'AUTHMUX_CHILD_ROLE';
export const PAM_WORKER_ROLE = 'pam-worker';

export interface PamPoolOptions {
  /** Workers at most, and so transactions at once (saslauthd's -n). */
  readonly size: number;
  /** A transaction still running after this long is a temporary failure; its worker is killed. */
  readonly timeoutMs: number;
  readonly onWorkerLost?: ((why: string) => void) | undefined;
  /** Default: this program again (sameProgram). */
  readonly command?: WorkerCommand | undefined;
}

interface Pending {
  readonly resolve: (o: PamOutcome) => void;
  readonly reject: (e: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/** How a worker process is started. */
export interface WorkerCommand {
  readonly file: string;
  readonly args: readonly string[];
}

/**
 * The program that is running now, started again: its entry point sees
 * the role variable and becomes a worker (src/cli/child-role.ts). The
 * single executable is its own program; otherwise Node runs the same script.
 */
export function sameProgram(): WorkerCommand {
  if (singleExecutable()) return { file: process.execPath, args: [] };
  return { file: process.execPath, args: [...process.execArgv, '--max-old-space-size=32', process.argv[1]!] };
}

/** One worker process and the one transaction it may be running. */
class Worker {
  readonly child: ChildProcess;
  private readonly channel: Socket;
  private pending: Pending | undefined;
  private nextId = 1;
  dead = false;

  constructor(command: WorkerCommand, private readonly onExit: (w: Worker, why: string) => void) {
    this.child = spawn(command.file, command.args, {
      // stdout is not the channel: a module that prints must not corrupt the answers.
      stdio: ['ignore', 'ignore', 'inherit', 'pipe'],
      // Its PAM calls are synchronous: none of the daemon's hash threads (up to -n) are wanted there.
      env: { ...process.env, [CHILD_ROLE_VAR]: PAM_WORKER_ROLE, UV_THREADPOOL_SIZE: '1' },
    });
    this.channel = this.child.stdio[WORKER_FD] as Socket;
    createInterface({ input: this.channel, crlfDelay: Infinity }).on('line', (line) => this.answered(line));
    this.channel.on('error', () => this.kill('its channel failed'));
    this.child.on('exit', (code, signal) => this.exited(signal ? `killed by ${signal}` : `exited with ${code}`));
    this.child.on('error', (err) => this.exited(`could not start: ${err.message}`));
  }

  get busy(): boolean {
    return this.pending !== undefined;
  }

  ask(q: PamQuestion, timeoutMs: number): Promise<PamOutcome> {
    return new Promise<PamOutcome>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail(new TempFail(`PAM gave no answer within ${timeoutMs / 1000} s`));
        this.kill('a transaction timed out');
      }, timeoutMs);
      this.pending = { resolve, reject, timer };
      this.channel.write(encodeQuestion(this.nextId++, q));
    });
  }

  kill(why: string): void {
    if (this.dead) return;
    // What its modules started (pam_exec's program) goes with it: a hung one would otherwise live on.
    const below = this.child.pid === undefined ? [] : descendantsOf(this.child.pid);
    this.child.kill('SIGKILL');
    for (const pid of below) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    this.exited(why);
  }

  private answered(line: string): void {
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    clearTimeout(p.timer);
    try {
      p.resolve(decodeOutcome(line).outcome);
    } catch (err) {
      p.reject(new TempFail(`PAM worker: ${(err as Error).message}`));
      this.kill('it answered nonsense');
    }
  }

  private fail(err: Error): void {
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    clearTimeout(p.timer);
    p.reject(err);
  }

  private exited(why: string): void {
    if (this.dead) return;
    this.dead = true;
    this.fail(new TempFail(`PAM worker ${why} during the transaction`));
    this.channel.destroy();
    this.onExit(this, why);
  }
}

/**
 * PAM transactions run in worker processes, at most `size` at once; the
 * rest wait in two lanes (the MTA's first). A worker that crashes or hangs
 * past the timeout is killed and replaced on demand: that request fails
 * temporarily, and every other goes on.
 */
export class PamPool {
  private readonly idle: Worker[] = [];
  private readonly all = new Set<Worker>();
  private readonly queue: VerifyQueue;
  /**
   * Other local users' transactions never hold the last worker: a stack that
   * hangs (pam_sss against a dead server, which any client can name) would
   * otherwise keep the MTA's logins waiting for pam_timeout.
   */
  private readonly untrusted: VerifyQueue;
  private closed = false;

  constructor(private readonly opts: PamPoolOptions) {
    this.queue = new VerifyQueue(opts.size);
    this.untrusted = new VerifyQueue(Math.max(1, opts.size - 1));
  }

  /** `first`: root or a trusted user asks (the MTA). */
  ask(q: PamQuestion, signal?: AbortSignal, first = false): Promise<PamOutcome> {
    if (this.closed) return Promise.reject(new TempFail('PAM pool closed'));
    if (first) return this.queue.run(() => this.onWorker(q), signal, true);
    return this.untrusted.run(() => this.queue.run(() => this.onWorker(q), signal, false), signal);
  }

  private async onWorker(q: PamQuestion): Promise<PamOutcome> {
    const w = this.idle.pop() ?? this.spawn();
    try {
      return await w.ask(q, this.opts.timeoutMs);
    } finally {
      if (!w.dead && !this.closed) this.idle.push(w);
    }
  }

  private spawn(): Worker {
    const w = new Worker(this.opts.command ?? sameProgram(), (gone, why) => {
      this.all.delete(gone);
      const i = this.idle.indexOf(gone);
      if (i >= 0) this.idle.splice(i, 1);
      if (!this.closed) this.opts.onWorkerLost?.(why);
    });
    this.all.add(w);
    return w;
  }

  get workers(): number {
    return this.all.size;
  }

  close(): void {
    this.closed = true;
    for (const w of this.all) w.kill('the daemon stopped');
    this.idle.length = 0;
  }
}
