import { saslauthdMain } from './saslauthd.js';
import { sasldbMain } from './sasldb.js';
import { testsaslauthdMain } from './testsaslauthd.js';

const COMMANDS: Record<string, (argv: readonly string[]) => Promise<number>> = {
  saslauthd: saslauthdMain,
  testsaslauthd: testsaslauthdMain,
  sasldb: sasldbMain,
};

const USAGE = `usage: authmux <command> [options]
commands:
  saslauthd       the saslauthd-compatible daemon (same flags as Cyrus saslauthd)
  testsaslauthd   ask a running daemon to check one login, like Cyrus testsaslauthd
  sasldb          list a sasldb (Berkeley DB or text); add or delete users in a text sasldb
`;

async function main(): Promise<void> {
  const [cmd, ...rest] = process.argv.slice(2);
  const run = cmd ? COMMANDS[cmd] : undefined;
  if (!run) {
    process.stderr.write(cmd ? `authmux: unknown command ${JSON.stringify(cmd)}\n${USAGE}` : USAGE);
    process.exitCode = cmd === undefined || cmd === '-h' || cmd === '--help' ? 0 : 2;
    return;
  }
  process.exitCode = await run(rest);
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
