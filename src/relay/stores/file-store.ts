import { closeSync, readFileSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { TempFail } from '../../errors.js';
import { grantLines, parseGrantLines } from '../grant-lines.js';
import { openPrivateFile, replaceFile } from '../../os/safe-files.js';
import { tryLockExclusive, unlock } from '../../os/flock.js';
import type { RelayStore } from '../store.js';

const LOCK_WAIT_MS = 5000;

type Op = { kind: 'put'; ip: string; at: number } | { kind: 'remove'; ips: readonly string[] } | { kind: 'expire'; cutoff: number };

interface Pending {
  readonly op: Op;
  resolve(removed: string[]): void;
  reject(err: Error): void;
}

/**
 * The map file. Writers (daemons, checkpassword, the relay CLI) take an
 * flock on `<file>.lock` (the kernel drops it when a holder dies, so a
 * kill -9 leaves nothing to clean up; mode 0600, so no other user can
 * open it and hold the lock against us), re-read the file, apply
 * their changes, and replace it by write-fsync-rename-fsync(dir): a reader
 * or a crash at any moment sees the old file or the new one, whole. Changes
 * queued while a write is under way go out together in the next one, so a
 * burst of logins costs a few rewrites, not one each.
 */
export class FileRelayStore implements RelayStore {
  readonly name = 'file';
  private map = new Map<string, number>();
  private seen = '';
  private queue: Pending[] = [];
  private flushing: Promise<void> | undefined;

  constructor(readonly path: string) {}

  private signature(): string {
    try {
      const st = statSync(this.path);
      return `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
      throw new TempFail(`relay file ${this.path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  }

  /** Re-reads the file when another writer replaced it. */
  private refresh(): void {
    const sig = this.signature();
    if (sig === this.seen) return;
    let text = '';
    try {
      text = readFileSync(this.path, 'latin1');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new TempFail(`relay file ${this.path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    this.map = parseGrantLines(text);
    this.seen = sig;
  }

  async get(ip: string): Promise<number | undefined> {
    this.refresh();
    return this.map.get(ip);
  }

  async entries(): Promise<Array<[string, number]>> {
    this.refresh();
    return [...this.map];
  }

  put(ip: string, at: number): Promise<void> {
    return this.enqueue({ kind: 'put', ip, at }).then(() => undefined);
  }

  remove(ips: readonly string[]): Promise<string[]> {
    return this.enqueue({ kind: 'remove', ips });
  }

  expireBefore(cutoff: number): Promise<string[]> {
    return this.enqueue({ kind: 'expire', cutoff });
  }

  async close(): Promise<void> {
    await this.flushing;
  }

  private enqueue(op: Op): Promise<string[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ op, resolve, reject });
      this.flushing ??= this.flushLoop();
    });
  }

  private async flushLoop(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        try {
          const removed = await this.writeBatch(batch.map((p) => p.op));
          batch.forEach((p, i) => p.resolve(removed[i]!));
        } catch (err) {
          const e = err instanceof TempFail ? err : new TempFail(`relay file ${this.path}: ${(err as Error).message}`);
          for (const p of batch) p.reject(e);
        }
      }
    } finally {
      this.flushing = undefined;
    }
  }

  private async writeBatch(ops: readonly Op[]): Promise<string[][]> {
    const lock = await this.acquire(`${this.path}.lock`);
    try {
      this.refresh();
      const removed = ops.map((op) => this.apply(op));
      if (removed.some((r, i) => ops[i]!.kind === 'put' || r.length > 0)) this.replaceFile();
      return removed;
    } finally {
      unlock(lock);
      closeSync(lock);
    }
  }

  private apply(op: Op): string[] {
    if (op.kind === 'put') {
      // A late or replayed grant never shortens a newer one.
      if ((this.map.get(op.ip) ?? -1) < op.at) this.map.set(op.ip, op.at);
      return [];
    }
    const gone = op.kind === 'remove' ? op.ips.filter((ip) => this.map.has(ip)) : [...this.map].filter(([, at]) => at < op.cutoff).map(([ip]) => ip);
    for (const ip of gone) this.map.delete(ip);
    return gone;
  }

  private replaceFile(): void {
    replaceFile(this.path, Buffer.from(grantLines(this.map), 'latin1'));
    this.seen = this.signature();
  }

  /** The lock file's descriptor, locked; waits for another writer at most LOCK_WAIT_MS. */
  private async acquire(lock: string): Promise<number> {
    let fd: number;
    try {
      fd = openPrivateFile(lock);
    } catch (err) {
      throw new TempFail(`relay lock ${lock}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    const end = Date.now() + LOCK_WAIT_MS;
    try {
      while (!tryLockExclusive(fd)) {
        if (Date.now() > end) throw new TempFail(`relay lock ${lock} held for over ${LOCK_WAIT_MS / 1000} s`);
        await sleep(2);
      }
      return fd;
    } catch (err) {
      closeSync(fd);
      throw err instanceof TempFail ? err : new TempFail(`relay lock ${lock}: ${(err as Error).message}`);
    }
  }
}
