import { spawn } from 'node:child_process';
import type { Logger } from '../../log.js';
import { replaceFile } from '../../os/safe-files.js';
import { grantLines } from '../grant-lines.js';
import { FileOutputPublisher, type Grants } from './file-output.js';

/**
 * `IP timestamp` lines of the live grants for `makemap hash` / `postmap`,
 * rewritten after changes, then the optional rebuild command (`sh -c`), run
 * in the background, one at a time, coalesced.
 */
export class TextMapPublisher extends FileOutputPublisher {
  readonly name = 'text map';

  constructor(path: string, private readonly rebuild: string | undefined, log: Logger) {
    super(path, log);
  }

  protected async write(grants: Grants): Promise<void> {
    replaceFile(this.path, Buffer.from(grantLines(grants), 'latin1'));
    if (!this.rebuild) return;
    const code = await new Promise<number | null>((resolve) => {
      const p = spawn('/bin/sh', ['-c', this.rebuild!], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, RELAY_MAP: this.path } });
      let err = '';
      p.stderr.on('data', (c: Buffer) => (err = (err + c.toString()).slice(-500)));
      p.on('error', (e) => {
        err = e.message;
        resolve(null);
      });
      p.on('close', (c) => {
        if (c !== 0) this.log.error(`relay: rebuild command failed (${c}): ${err.trim()}`);
        resolve(c);
      });
    });
    if (code === 0) this.log.debug(`relay: rebuilt ${this.path}`);
  }
}
