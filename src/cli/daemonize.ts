import { spawn } from 'node:child_process';
import { singleExecutable } from '../os/single-executable.js';

/** Marks the detached copy of the daemon; never set by hand. */
const CHILD_MARK = 'AUTHMUX_DETACHED_CHILD';

export function isDetachedChild(env: NodeJS.ProcessEnv): boolean {
  return env[CHILD_MARK] === '1';
}

/**
 * The young-generation size bin/authmux's first line gives node: measured
 * faster with less memory for the daemon. The single executable takes no
 * Node flags on its command line, only from NODE_OPTIONS.
 */
const SEA_V8_FLAGS = '--max-semi-space-size=1';

/** The same command again: node with its flags and script, or the single executable with only its own arguments. */
export function sameCommand(env: NodeJS.ProcessEnv): { args: string[]; env: NodeJS.ProcessEnv } {
  if (!singleExecutable()) return { args: [...process.execArgv, process.argv[1]!, ...process.argv.slice(2)], env };
  return { args: process.argv.slice(2), env: { ...env, NODE_OPTIONS: [env['NODE_OPTIONS'], SEA_V8_FLAGS].filter(Boolean).join(' ') } };
}

/** This program again, as a serving process of this one (serve_processes): never a detached copy. */
export function servingCommand(env: NodeJS.ProcessEnv): { file: string; args: string[]; env: NodeJS.ProcessEnv } {
  const { [CHILD_MARK]: _detached, ...rest } = env;
  const again = sameCommand(rest);
  return { file: process.execPath, args: again.args, env: again.env };
}

/**
 * saslauthd forks into the background unless -d/-f is given, and init
 * scripts and systemd's Type=forking rely on it. Node cannot fork, so the
 * same command is started again detached, and this process exits only once
 * that copy says it listens (exit 0) or why it could not (exit 1).
 */
export function runDetached(): Promise<number> {
  return new Promise((resolve) => {
    const again = sameCommand({ ...process.env, [CHILD_MARK]: '1' });
    const child = spawn(process.execPath, again.args, {
      detached: true,
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
      env: again.env,
    });
    child.once('message', (m: unknown) => {
      const msg = String(m);
      if (msg === 'ready') {
        child.disconnect();
        child.unref();
        resolve(0);
      } else {
        process.stderr.write(`${msg}\n`);
        resolve(1);
      }
    });
    child.once('exit', (code) => resolve(code === 0 ? 1 : (code ?? 1)));
  });
}

/** Called by the detached copy: tells the waiting parent how the start went. */
export function reportToParent(message: string): void {
  if (process.send) {
    process.send(message);
    if (message === 'ready') process.disconnect();
  }
}
