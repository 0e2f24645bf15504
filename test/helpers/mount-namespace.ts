import { spawn, type ChildProcess } from 'node:child_process';
import { run } from './daemon.js';

type Result = Awaited<ReturnType<typeof run>>;

/**
 * A private mount namespace (unshare -m, private propagation) kept open by a
 * sleeping holder: mounts made in it hide files and directories from the
 * programs run in it only, while every other process, other tests' daemons
 * included, keeps seeing the machine's own.
 */
export class MountNamespace {
  private constructor(private readonly holder: ChildProcess) {}

  static async open(): Promise<MountNamespace> {
    const holder = spawn('unshare', ['-m', '--propagation', 'private', '--', 'sh', '-c', 'echo ready; exec sleep infinity'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let said = '';
    await new Promise<void>((resolve, reject) => {
      holder.stdout!.on('data', (c: Buffer) => {
        said += c.toString();
        if (said.includes('ready')) resolve();
      });
      holder.stderr!.on('data', (c: Buffer) => (said += c.toString()));
      holder.once('exit', (code) => reject(new Error(`unshare exited (${code}): ${said}`)));
    });
    return new MountNamespace(holder);
  }

  /** The command prefix that starts a program inside, keeping its environment. */
  get enter(): string[] {
    return ['nsenter', '-t', String(this.holder.pid), '-m', '--'];
  }

  /** Runs a program inside, with exactly `env` as its environment. */
  run(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }): Promise<Result> {
    return new Promise((resolve) => {
      const p = spawn('nsenter', ['-t', String(this.holder.pid), '-m', '--', cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      p.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }

  private async mount(args: readonly string[]): Promise<void> {
    const r = await this.run('mount', args);
    if (r.code !== 0) throw new Error(`mount ${args.join(' ')}: ${r.stderr}`);
  }

  /** Shows `source` at `target` (both files or both directories; the target must exist). */
  bind(source: string, target: string): Promise<void> {
    return this.mount(['--bind', source, target]);
  }

  /** An empty in-memory directory over `target`. */
  tmpfs(target: string, mode: number): Promise<void> {
    return this.mount(['-t', 'tmpfs', '-o', `mode=${mode.toString(8)}`, 'tmpfs', target]);
  }

  /** The namespace goes once the holder and whatever still runs in it are gone. */
  close(): void {
    this.holder.kill('SIGKILL');
  }
}
