import { becomeChildRole } from './child-role.js';

type Command = (argv: readonly string[]) => Promise<number>;

// Each command loads only its own modules.
const COMMANDS: Record<string, () => Promise<Command>> = {
  saslauthd: async () => (await import('./saslauthd.js')).saslauthdMain,
  testsaslauthd: async () => (await import('./testsaslauthd.js')).testsaslauthdMain,
  sasldb: async () => (await import('./sasldb.js')).sasldbMain,
  relay: async () => (await import('./relay.js')).relayMain,
  ctl: async () => (await import('./ctl.js')).ctlMain,
  checkpassword: async () => {
    const { checkpasswordMain } = await import('./checkpassword.js');
    return (argv) => checkpasswordMain(argv, process.env);
  },
};

const USAGE = `usage: authmux <command> [options]
commands:
  saslauthd       the saslauthd-compatible daemon (same flags as Cyrus saslauthd)
  testsaslauthd   ask a running daemon to check one login, like Cyrus testsaslauthd
  sasldb          list a sasldb (Berkeley DB or text); add or delete users in a text sasldb
  relay           POP-before-SMTP grants: add, delete, expire, list, dump (vsmtprelay's commands)
  ctl             the running daemon: stats, cache flush, reload, penalty table (root)
  checkpassword   qmail's checkpassword interface (also bin/authmux-checkpassword): checkpassword prog [args...]
`;

async function main(): Promise<void> {
  if (await becomeChildRole(process.env)) return;
  const [cmd, ...rest] = process.argv.slice(2);
  const load = cmd ? COMMANDS[cmd] : undefined;
  if (!load) {
    process.stderr.write(cmd ? `authmux: unknown command ${JSON.stringify(cmd)}\n${USAGE}` : USAGE);
    process.exitCode = cmd === undefined || cmd === '-h' || cmd === '--help' ? 0 : 2;
    return;
  }
  process.exitCode = await (await load())(rest);
}

main().then(
  () => {
    // Background handles (the detached child's IPC, worker threads) must not keep a finished command alive.
    if (process.exitCode !== undefined) setImmediate(() => process.exit(process.exitCode));
  },
  (err: unknown) => {
    process.stderr.write(`authmux: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(111);
  },
);
