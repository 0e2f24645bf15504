import { Worker } from 'node:worker_threads';
import { embeddedScript, singleExecutable } from '../../os/single-executable.js';
import type { VerifyAnswer, VerifyJob } from './worker.js';

/** The name scripts/package-sea.sh packs the bundled worker under. */
const WORKER_ASSET = 'crypt-worker.cjs';

function workerMaker(): () => Worker {
  // The single executable has no worker.js on disk: it runs the copy packed into it.
  if (singleExecutable()) {
    const code = embeddedScript(WORKER_ASSET);
    return () => new Worker(code, { eval: true });
  }
  const url = new URL('./worker.js', import.meta.url);
  return () => new Worker(url);
}

interface Pending {
  resolve(ok: boolean): void;
  reject(err: Error): void;
}

export class UnsupportedInFallback extends Error {
  override readonly name = 'UnsupportedInFallback';
}

/**
 * Worker threads for the pure-JS verifiers: they are CPU-bound and would
 * otherwise stall every other connection while one hash is computed.
 */
export class JsCryptPool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, Pending>();
  private readonly idle: Worker[] = [];
  private readonly queue: Array<{ job: VerifyJob; p: Pending }> = [];
  private nextId = 1;

  constructor(size: number) {
    const make = workerMaker();
    for (let i = 0; i < size; i++) {
      const w = make();
      w.unref();
      w.on('message', (a: VerifyAnswer) => this.answer(w, a));
      w.on('error', (err) => this.failAll(err));
      this.workers.push(w);
      this.idle.push(w);
    }
  }

  verify(password: Buffer, hash: string): Promise<boolean> {
    return new Promise((resolve, reject) => {
      const job: VerifyJob = { id: this.nextId++, password: new Uint8Array(password), hash };
      const p = { resolve, reject };
      const w = this.idle.pop();
      if (w) this.dispatch(w, job, p);
      else this.queue.push({ job, p });
    });
  }

  private dispatch(w: Worker, job: VerifyJob, p: Pending): void {
    this.pending.set(job.id, p);
    w.postMessage(job);
  }

  private answer(w: Worker, a: VerifyAnswer): void {
    const p = this.pending.get(a.id);
    this.pending.delete(a.id);
    const next = this.queue.shift();
    if (next) this.dispatch(w, next.job, next.p);
    else this.idle.push(w);
    if (!p) return;
    if ('ok' in a) p.resolve(a.ok);
    else if ('unsupported' in a) p.reject(new UnsupportedInFallback(a.unsupported));
    else p.reject(new Error(a.error));
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
