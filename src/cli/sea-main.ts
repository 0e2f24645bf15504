/**
 * The entry of dist/saslauthd (`npm run package`): the saslauthd daemon as
 * one executable, so that its process is that file and init scripts find it
 * by /proc/PID/exe and by name. It takes saslauthd's flags, no subcommand.
 */
import { loadNativeFrom } from '../os/native.js';
import { nativeHome } from './native-home.js';

/** The checkout the executable was packaged in; scripts/package-sea.sh defines it. */
declare const AUTHMUX_PACKAGED_IN: string;

// ─── Child roles: the one dispatch point ───────────────────────────────────
// Work that needs a process of its own is the daemon starting
// process.execPath again with AUTHMUX_CHILD_ROLE naming the role. The variable
// goes at once, so that nothing a role starts inherits it.
const role = process.env['AUTHMUX_CHILD_ROLE'];
delete process.env['AUTHMUX_CHILD_ROLE'];
let run: () => Promise<number>;
switch (role) {
  case undefined:
    run = saslauthd;
    break;
  default:
    run = () => unknownRole(role);
}
// ────────────────────────────────────────────────────────────────────────────

loadNativeFrom(nativeHome(process.env, AUTHMUX_PACKAGED_IN));

run().then(
  (code) => {
    process.exitCode = code;
    // Background handles (the detached child's IPC, worker threads) must not keep a finished command alive.
    setImmediate(() => process.exit(code));
  },
  (err: unknown) => {
    process.stderr.write(`saslauthd: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(111);
  },
);

async function saslauthd(): Promise<number> {
  const { saslauthdMain } = await import('./saslauthd.js');
  return saslauthdMain(process.argv.slice(2));
}

async function unknownRole(name: string): Promise<number> {
  process.stderr.write(`saslauthd: unknown AUTHMUX_CHILD_ROLE ${JSON.stringify(name)}\n`);
  return 111;
}
