import type { Logger } from '../../log.js';
import type { RelayChange, RelayPublisher } from '../tracker.js';
import { Coalescer } from './coalesce.js';

export type Grants = Array<[string, number]>;

/**
 * A publisher that rewrites a whole file from the live grants after changes:
 * whatever the change, it writes the current state, one write at a time,
 * changes during a write folded into one more.
 */
export abstract class FileOutputPublisher implements RelayPublisher {
  abstract readonly name: string;
  private live: (() => Promise<Grants>) | undefined;
  private readonly runs: Coalescer;
  /** The oldest grant in the file as last written: once it is past its TTL, the file is due again. */
  private oldest = Infinity;

  constructor(protected readonly path: string, protected readonly log: Logger) {
    this.runs = new Coalescer(async () => {
      const grants = await this.live!();
      await this.write(grants);
      this.oldest = grants.reduce((min, [, at]) => Math.min(min, at), Infinity);
    }, (err) => this.log.error(`relay ${this.name} ${path}: ${err.message}`));
  }

  protected abstract write(grants: Grants): Promise<void>;

  changed(_change: RelayChange, live: () => Promise<Grants>): void {
    this.live = live;
    this.runs.poke();
  }

  tick(cutoff: number, live: () => Promise<Grants>): void {
    if (this.oldest <= cutoff) this.changed({ kind: 'refresh' }, live);
  }

  async close(): Promise<void> {
    await this.runs.drained();
  }
}
