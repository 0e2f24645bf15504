import { connect } from 'node:net';
import { join } from 'node:path';
import { DEFAULT_RUN_DIR } from '../config/config.js';

/** Exit codes a script can rely on. */
const EXIT = { ok: 0, refused: 1, usage: 2, unreachable: 3 } as const;

const USAGE = `usage: authmux ctl [-m rundir] command [argument]
  stats                   counters of the running daemon, "name value" a line
  flush [user[@realm]]    empty the credential cache, or drop one login's entries
  reload                  as SIGHUP: read the configuration again (exit 1 and why, if it cannot)
  penalty [ip]            the penalised addresses (or the one ip falls under): failures, delay
  penalty-clear ip        forget the failures counted for ip's address
exit: 0 done, 1 refused by the daemon (the reason on stderr), 2 usage, 3 no daemon answers
`;

/** `authmux ctl`: one command to the daemon's control socket (<run dir>/control, root only). */
export async function ctlMain(argv: readonly string[]): Promise<number> {
  const args = [...argv];
  let runDir = DEFAULT_RUN_DIR;
  if (args[0] === '-m') {
    if (!args[1]) return usage('-m needs a directory');
    runDir = args[1];
    args.splice(0, 2);
  }
  const [cmd, ...rest] = args;
  if (!cmd || cmd === '-h' || cmd === '--help') return usage(cmd ? undefined : 'no command');
  if (rest.length > 1 || args.some((a) => /[\s]/.test(a))) return usage('one argument at most, without spaces');
  const path = join(runDir, 'control');
  let answer: string;
  try {
    answer = await ask(path, `${args.join(' ')}\n`);
  } catch (err) {
    process.stderr.write(`authmux ctl: no daemon answers on ${path}: ${(err as Error).message}\n`);
    return EXIT.unreachable;
  }
  const [status, ...lines] = answer.replace(/\n$/, '').split('\n');
  if (status === 'OK') {
    if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
    return EXIT.ok;
  }
  process.stderr.write(`authmux ctl: ${status?.startsWith('ERR ') ? status.slice(4) : `unexpected answer ${JSON.stringify(status)}`}\n`);
  return EXIT.refused;
}

function usage(why?: string): number {
  process.stderr.write(`${why ? `authmux ctl: ${why}\n` : ''}${USAGE}`);
  return why ? EXIT.usage : EXIT.ok;
}

function ask(path: string, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(path, () => s.write(line));
    let out = '';
    s.setTimeout(60_000, () => s.destroy(new Error('no answer within 60 s')));
    s.on('data', (c: Buffer) => (out += c.toString('utf8')));
    s.on('error', reject);
    s.on('close', () => (out ? resolve(out) : reject(new Error('closed without an answer'))));
  });
}
