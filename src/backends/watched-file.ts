import { readFileSync, statSync } from 'node:fs';
import { TempFail } from '../errors.js';

/**
 * A file parsed once and parsed again when it changes, so that a `passwd`,
 * `chpasswd` or `saslpasswd2` run is seen by the very next request, with no
 * restart. Every use stats the file (a few microseconds). An inotify watch
 * would be cheaper, but its event can be handled after the request that
 * follows the change, and a cached old password must never win that race.
 */
export class WatchedFile<T> {
  private signature: string | undefined;
  private value: T | undefined;
  /** The last stat's fields and the signature made of them. */
  private lastStat = { dev: -1, ino: -1, size: -1, mtimeMs: 0, ctimeMs: -1, text: '' };

  constructor(
    readonly path: string,
    private readonly parse: (content: Buffer) => T,
  ) {}

  /**
   * Milliseconds since the file was last written, as of the last get() or
   * generation(). A file rewritten in place (saslpasswd2 does that) is only
   * trusted once it has been quiet for a moment: see the sasldb backend.
   */
  quietForMs(now = Date.now()): number {
    return now - this.lastStat.mtimeMs;
  }

  /** Identifies the file's current content; changes whenever the file is replaced or written. */
  generation(): string {
    return this.stat();
  }

  /** Drops the parsed copy: the next get() reads the file again even if it looks unchanged. */
  forget(): void {
    this.signature = undefined;
    this.value = undefined;
  }

  get(): T {
    for (let attempt = 0; attempt < 3; attempt++) {
      const before = this.stat();
      if (before === this.signature && this.value !== undefined) return this.value;
      let content: Buffer;
      try {
        content = readFileSync(this.path);
      } catch (err) {
        throw new TempFail(`cannot read ${this.path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
      // A writer that rewrites in place could leave us half a file: only keep what was read between two equal stats.
      if (this.stat() !== before) continue;
      try {
        this.value = this.parse(content);
      } catch (err) {
        this.value = undefined;
        this.signature = undefined;
        throw new TempFail(`${this.path}: ${(err as Error).message}`);
      }
      this.signature = before;
      return this.value;
    }
    throw new TempFail(`${this.path} kept changing while being read`);
  }

  private stat(): string {
    try {
      // Milliseconds as doubles keep a fraction down to a fraction of a microsecond; the BigInt
      // nanoseconds would cost ten BigInt-to-string conversions a login for nothing more.
      const s = statSync(this.path);
      const last = this.lastStat;
      // Unchanged (nearly always): the text made last time, not five number conversions a login.
      if (s.ino === last.ino && s.mtimeMs === last.mtimeMs && s.ctimeMs === last.ctimeMs && s.size === last.size && s.dev === last.dev) return last.text;
      const text = `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
      this.lastStat = { dev: s.dev, ino: s.ino, size: s.size, mtimeMs: s.mtimeMs, ctimeMs: s.ctimeMs, text };
      return text;
    } catch (err) {
      throw new TempFail(`cannot stat ${this.path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
}
