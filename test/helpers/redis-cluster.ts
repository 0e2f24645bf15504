import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { tempDir } from './fixtures.js';

/** Three redis-server masters of a private cluster on loopback high ports, nothing kept on disk after. */
export class PrivateRedisCluster {
  private readonly procs: ChildProcess[] = [];
  readonly ports: number[];

  private constructor() {
    const base = 30000 + Math.floor(Math.random() * 5000) * 3;
    this.ports = [base, base + 1, base + 2];
  }

  static async start(): Promise<PrivateRedisCluster> {
    const c = new PrivateRedisCluster();
    const dir = tempDir('authmux-redis-cluster-');
    for (const port of c.ports) {
      c.procs.push(spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes',
        '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' }));
    }
    for (const port of c.ports) await c.waitFor(() => execFileSync('redis-cli', ['-p', String(port), 'ping']).toString().trim() === 'PONG');
    execFileSync('redis-cli', ['--cluster', 'create', ...c.ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], { stdio: 'pipe' });
    await c.waitFor(() => /cluster_state:ok/.test(execFileSync('redis-cli', ['-p', String(c.ports[0]), 'cluster', 'info']).toString()));
    return c;
  }

  private async waitFor(check: () => boolean): Promise<void> {
    for (let i = 0; i < 200; i++) {
      try {
        if (check()) return;
      } catch {
        // Not up yet.
      }
      await sleep(50);
    }
    throw new Error('redis cluster did not come up');
  }

  get url(): string {
    return `redis-cluster://${this.ports.map((p) => `127.0.0.1:${p}`).join(',')}`;
  }

  stop(): void {
    for (const p of this.procs) p.kill('SIGKILL');
  }
}
