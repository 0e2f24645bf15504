import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSaslauthdArgs, type Config } from '../../src/config/config.js';
import { tempDir } from './fixtures.js';

/** The Config `authmux saslauthd argv` would serve with. */
export function serve(argv: string[], env: NodeJS.ProcessEnv = {}): Config {
  const inv = parseSaslauthdArgs(argv, env);
  assert.equal(inv.action, 'serve');
  if (inv.action !== 'serve') throw new Error('unreachable');
  return inv.config;
}

/** A saslauthd.conf holding `text`, in a directory of its own. */
export function confFile(text: string): string {
  const p = join(tempDir(), 'saslauthd.conf');
  writeFileSync(p, text);
  return p;
}
