import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './fixtures.js';

/** Where .ci/run unpacks sendmail-bin when Sendmail itself is not installed (it conflicts with postfix). */
const UNPACKED = '/var/tmp/authmux-sendmail-bin/usr/libexec/sendmail/makemap';

/** Runs Sendmail's real makemap: `makemap hash <base>` with the text on stdin; fails the test when makemap is absent. */
export function makemapHash(base: string, text: string): void {
  const bin = ['/usr/sbin/makemap', UNPACKED].find((p) => existsSync(p));
  if (!bin) throw new Error(`Sendmail's makemap is not here: install sendmail-bin, or let .ci/run unpack it to ${UNPACKED}`);
  // makemap reads sendmail.cf for its trusted user; an empty one keeps it from needing Sendmail set up.
  const cf = join(tempDir('authmux-makemap-'), 'empty.cf');
  writeFileSync(cf, '');
  execFileSync(bin, ['-C', cf, 'hash', base], { input: text, stdio: ['pipe', 'pipe', 'pipe'] });
}
