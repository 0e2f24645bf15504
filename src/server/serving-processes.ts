import { spawn, type ChildProcess } from 'node:child_process';
import type { PenaltyEntry, PenaltyEvent } from '../auth/penalty.js';
import type { Logger } from '../log.js';
import type { LoginFacts } from '../relay/tracker.js';
import { SERVING_PROCESS_VAR, SERVING_SOCKET_FD, type FromServing, type ToServing } from './serving-messages.js';

/** How this program is started again (the CLI knows: node and its script, or the single executable). */
export interface ProgramCommand {
  readonly file: string;
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
}

export interface ServingHooks {
  /** A serving process's login that may open relay: the first process owns the relay store. */
  grant(f: LoginFacts): void;
  /** A serving process's change to the failure counts. */
  penalty(e: PenaltyEvent): void;
  /** The first's failure counts now, for a process that starts. */
  penalties(): PenaltyEntry[];
  /** Serving process `index` is gone (a new one may take its index). */
  died(index: number): void;
}

/** A serving process that has not said it serves by then has failed. */
const START_MS = 30_000;
/** An answer (stats, metrics) not back by then is left out. */
const ASK_MS = 2000;
const RESTART_FIRST_MS = 500;
const RESTART_MAX_MS = 30_000;
/** A process up this long has stopped dying: its next restart waits the least again. */
const STABLE_MS = 10_000;

interface Serving {
  readonly index: number;
  readonly child: ChildProcess;
  ready: boolean;
  /** Reloads done when it was started: it read the configuration as it was then. */
  readonly reloadsAtStart: number;
  stable?: NodeJS.Timeout;
}

/**
 * The processes besides the first that accept on the saslauthd socket
 * (serve_processes): it starts them with the listening socket, tells them
 * of reloads, flushes and failure counts, collects their counters, stops
 * them with itself, and starts again any that dies. systemd's variables
 * (notify socket, activated fds) belong to the first process alone and
 * are not passed on.
 */
export class ServingProcesses {
  private readonly live = new Map<number, Serving>();
  private readonly answers = new Map<number, (value: unknown) => void>();
  private nextId = 1;
  private stopping = false;
  private readonly restartMs = new Map<number, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private reloads = 0;

  constructor(
    private readonly others: number,
    private readonly command: ProgramCommand,
    /** The saslauthd socket's descriptor in this process. */
    private readonly listeningFd: number,
    private readonly penaltyKey: Buffer,
    private readonly hooks: ServingHooks,
    private readonly log: Logger,
  ) {}

  /** Resolves when every one serves; rejects (and stops those started) when one cannot. */
  async start(): Promise<void> {
    try {
      await Promise.all(Array.from({ length: this.others }, (_, i) => this.launch(i + 1)));
    } catch (err) {
      await this.stop(0);
      throw err;
    }
  }

  private launch(index: number): Promise<void> {
    const env: NodeJS.ProcessEnv = { ...this.command.env, [SERVING_PROCESS_VAR]: String(index) };
    for (const k of ['NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID', 'LISTEN_PID', 'LISTEN_FDS', 'LISTEN_FDNAMES']) delete env[k];
    const stdio: Array<'ignore' | 'inherit' | 'ipc' | number> = ['ignore', 'inherit', 'inherit', 'ipc'];
    stdio[SERVING_SOCKET_FD] = this.listeningFd;
    // Passed as a descriptor, not through the IPC channel: a handle received that way is already
    // watched by the child's event loop, and its server would not half-close as the mux protocol needs.
    const child = spawn(this.command.file, [...this.command.args], { stdio, env });
    const s: Serving = { index, child, ready: false, reloadsAtStart: this.reloads };
    this.live.set(index, s);
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`serving process ${index} did not start within ${START_MS / 1000} s`));
      }, START_MS);
      child.on('message', (m: FromServing) => {
        if (m.t === 'ready') {
          clearTimeout(timer);
          // From here on it hears every change (tell), and this message brings it up to date with those it missed.
          s.ready = true;
          child.send({ t: 'begin', reload: this.reloads !== s.reloadsAtStart, penalties: this.hooks.penalties() } satisfies ToServing);
          s.stable = setTimeout(() => this.restartMs.delete(index), STABLE_MS);
          resolve();
        } else if (m.t === 'failed') {
          clearTimeout(timer);
          reject(new Error(`serving process ${index}: ${m.why}`));
        } else this.heard(s, m);
      });
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`serving process ${index} ${signal ? `killed by ${signal}` : `exited with ${code}`} while starting`));
        this.exited(s, signal ? `killed by ${signal}` : `exited with ${code}`);
      });
      // A channel torn down under a write (the child just died) is the exit's news, not an error of ours.
      child.on('error', () => undefined);
      child.send({ t: 'start', penaltyKey: this.penaltyKey.toString('base64') } satisfies ToServing);
    });
  }

  private heard(from: Serving, m: FromServing): void {
    switch (m.t) {
      case 'grant':
        this.hooks.grant(m.f);
        return;
      case 'penalty':
        this.hooks.penalty(m.e);
        this.tell({ t: 'penalty', e: m.e }, from);
        return;
      case 'answer':
        this.answers.get(m.id)?.(m.value);
        return;
    }
  }

  /** Its clients' connections closed with it (the kernel's doing); the socket stays served by the rest meanwhile. */
  private exited(s: Serving, why: string): void {
    clearTimeout(s.stable);
    if (this.live.get(s.index) !== s) return;
    this.live.delete(s.index);
    this.hooks.died(s.index);
    if (this.stopping) return;
    const wait = this.restartMs.get(s.index) ?? RESTART_FIRST_MS;
    this.restartMs.set(s.index, Math.min(wait * 2, RESTART_MAX_MS));
    this.log.error(`serving process ${s.index} (pid ${s.child.pid}) ${why}; starting it again in ${wait} ms`);
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (this.stopping) return;
      this.launch(s.index).then(
        () => this.log.info(`serving process ${s.index} started again (pid ${this.live.get(s.index)?.child.pid})`),
        (err: Error) => this.log.error(err.message),
      );
    }, wait);
    this.timers.add(t);
  }

  /** The first process took a new configuration: every process does, including one starting now (see 'begin'). */
  reloaded(): void {
    this.reloads++;
    this.tell({ t: 'reload' });
  }

  /** To every serving process that serves, but `except`. */
  tell(m: ToServing, except?: Serving): void {
    for (const s of this.live.values()) {
      if (s === except || !s.ready || !s.child.connected) continue;
      s.child.send(m);
    }
  }

  /** Each serving process's answer to a question; one that does not answer in time is left out. */
  async ask<T>(question: { t: 'metrics' } | { t: 'stats' } | { t: 'flush'; login?: string | undefined }): Promise<T[]> {
    return (await this.askEach<T>(question)).flatMap((a) => (a.value === undefined ? [] : [a.value]));
  }

  /** Each serving process's answer by its index; undefined when it did not answer in time. */
  async askEach<T>(question: { t: 'metrics' } | { t: 'stats' } | { t: 'flush'; login?: string | undefined }): Promise<Array<{ index: number; value: T | undefined }>> {
    const asked = [...this.live.values()].filter((s) => s.ready && s.child.connected);
    const replies = asked.map(
      (s) =>
        new Promise<{ index: number; value: T | undefined }>((resolve) => {
          const id = this.nextId++;
          const timer = setTimeout(() => {
            this.answers.delete(id);
            resolve({ index: s.index, value: undefined });
          }, ASK_MS);
          this.answers.set(id, (v) => {
            clearTimeout(timer);
            this.answers.delete(id);
            resolve({ index: s.index, value: v as T });
          });
          s.child.send({ ...question, id } as ToServing);
        }),
    );
    return Promise.all(replies);
  }

  get pids(): number[] {
    return [...this.live.values()].flatMap((s) => (s.child.pid === undefined ? [] : [s.child.pid]));
  }

  /** SIGTERM to each: it stops accepting and answers what it holds, as the first does; SIGKILL after `graceMs`. */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    for (const t of this.timers) clearTimeout(t);
    for (const s of this.live.values()) clearTimeout(s.stable);
    const exits = [...this.live.values()].map((s) => {
      if (s.child.exitCode !== null || s.child.signalCode !== null) return Promise.resolve();
      const exited = new Promise<void>((r) => s.child.once('exit', () => r()));
      s.child.kill('SIGTERM');
      const killer = setTimeout(() => s.child.kill('SIGKILL'), graceMs + 2000);
      return exited.finally(() => clearTimeout(killer));
    });
    await Promise.all(exits);
    this.live.clear();
  }
}
