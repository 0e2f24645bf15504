/**
 * The entry of dist/saslauthd (`npm run package`): the saslauthd daemon as
 * one executable, so that its process is that file and init scripts find it
 * by /proc/PID/exe and by name. It takes saslauthd's flags, no subcommand.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadNativeFrom } from '../os/native.js';
import { assertPrivateTree } from '../os/safe-files.js';
import { becomeChildRole } from './child-role.js';
import { nativeHome } from './native-home.js';

/** The checkout the executable was packaged in; scripts/package-sea.sh defines it. */
declare const AUTHMUX_PACKAGED_IN: string;

const home = nativeHome(process.env, AUTHMUX_PACKAGED_IN);
try {
  // The daemon runs as root: what it loads from there must be what only root could have put there.
  for (const pkg of ['koffi', 'unix-dgram']) {
    const dir = join(home, 'node_modules', pkg);
    if (existsSync(dir)) assertPrivateTree(dir, `native package ${pkg}`);
  }
} catch (err) {
  process.stderr.write(`saslauthd: ${(err as Error).message}\n`);
  process.exit(111);
}
loadNativeFrom(home);

// Work that needs a process of its own (a PAM worker) is the daemon starting
// process.execPath again with AUTHMUX_CHILD_ROLE naming the role: the one
// dispatch point is becomeChildRole, shared with bin/authmux.
becomeChildRole(process.env)
  .then(async (isChild) => {
    if (isChild) return;
    const code = await saslauthd();
    process.exitCode = code;
    // Background handles (the detached child's IPC, worker threads) must not keep a finished command alive.
    setImmediate(() => process.exit(code));
  })
  .catch((err: unknown) => {
    process.stderr.write(`saslauthd: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(111);
  });

async function saslauthd(): Promise<number> {
  const { saslauthdMain } = await import('./saslauthd.js');
  return saslauthdMain(process.argv.slice(2));
}
