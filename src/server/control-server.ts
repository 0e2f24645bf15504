import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from '../log.js';
import { claimSocketPath, listenUnix, removeQuietly } from './run-dir.js';
import type { PeerUid } from '../os/peer-credentials.js';

/** What the control socket can do; the daemon owns each. */
export interface ControlActions {
  stats(): Promise<Record<string, number | string>>;
  /** Every entry, or those of one login, in every serving process: the count dropped. */
  flush(login?: string): Promise<number>;
  /** As SIGHUP; resolves when the new configuration serves, rejects with why it does not. */
  reload(): Promise<void>;
  /** The penalised addresses (or one), with their failures and current delay. */
  penalties(ip?: string): Array<{ key: string; failures: number; delayMs: number }>;
  clearPenalty(ip: string): boolean;
}

const MAX_LINE = 512;

/**
 * `authmux ctl`'s socket: <run dir>/control, mode 0600 and answered only
 * for root (or the daemon's own user), whatever its mode says. One command
 * line a connection; the answer is "OK" or "ERR why", then its lines.
 */
export class ControlServer {
  private readonly server: Server;

  constructor(
    private readonly path: string,
    private readonly actions: ControlActions,
    private readonly log: Logger,
    private readonly peerUid: PeerUid | undefined,
  ) {
    this.server = createServer((s) => this.serve(s));
  }

  async start(): Promise<void> {
    await claimSocketPath(this.path);
    await listenUnix(this.server, this.path, 0o600);
  }

  private serve(s: Socket): void {
    s.on('error', () => undefined);
    s.setTimeout(10_000, () => s.destroy());
    const uid = this.peerUid?.(s);
    const me = process.geteuid?.() ?? 0;
    if (uid === undefined || (uid !== 0 && uid !== me)) {
      s.end('ERR only root may use the control socket\n');
      return;
    }
    let buf = '';
    s.on('data', (c: Buffer) => {
      buf += c.toString('latin1');
      const nl = buf.indexOf('\n');
      if (nl < 0) {
        if (buf.length > MAX_LINE) s.end('ERR command too long\n');
        return;
      }
      s.removeAllListeners('data');
      this.run(buf.slice(0, nl).trim().split(/\s+/)).then(
        (lines) => s.end(['OK', ...lines].join('\n') + '\n'),
        (err: unknown) => s.end(`ERR ${err instanceof Error ? err.message : String(err)}\n`),
      );
    });
  }

  private async run([cmd, arg, extra]: string[]): Promise<string[]> {
    if (extra !== undefined) throw new Error('one argument at most');
    switch (cmd) {
      case 'stats':
        return Object.entries(await this.actions.stats()).map(([k, v]) => `${k} ${v}`);
      case 'flush': {
        const n = await this.actions.flush(arg);
        this.log.info(`control: cache flushed${arg ? ` for ${JSON.stringify(arg)}` : ''} (${n} entries)`);
        return [`flushed ${n}`];
      }
      case 'reload':
        if (arg !== undefined) throw new Error('reload takes no argument');
        await this.actions.reload();
        return ['reloaded'];
      case 'penalty':
        return this.actions.penalties(arg).map((p) => `${p.key} failures=${p.failures} delay=${p.delayMs / 1000}s`);
      case 'penalty-clear':
        if (!arg) throw new Error('penalty-clear needs an address');
        if (!this.actions.clearPenalty(arg)) throw new Error(`no penalty for ${arg}`);
        return [`cleared ${arg}`];
      default:
        throw new Error(`unknown command ${JSON.stringify(cmd ?? '')}; commands: stats, flush [user[@realm]], reload, penalty [ip], penalty-clear ip|uid:N`);
    }
  }

  async close(): Promise<void> {
    await new Promise<void>((r) => this.server.close(() => r()));
    removeQuietly(this.path);
  }
}
