import { loadConfig } from '../config/config.js';
import { getopt } from '../config/getopt.js';
import type { Logger } from '../log.js';
import { grantLines, inGrantOrder } from '../relay/grant-lines.js';
import { RelayInputError, type RelayTracker } from '../relay/tracker.js';

const USAGE = `usage: authmux relay [-O config] [-m rundir] command
  add IP [ticks]      grant relay to IP from time ticks (epoch seconds; default now)
  delete IP...        take grants away
  expire [minutes]    remove grants older than minutes (default relay_ttl)
  list [minutes]      print "IP timestamp" of grants younger than minutes (default relay_ttl)
  dump                print every grant held, live or not
The store is the config's relay_store (found with -O, else AUTHMUX_CONFIG, else
/etc/saslauthd.conf); a running daemon sees the change at once.
`;

function say(msg: string): void {
  process.stderr.write(`authmux relay: ${msg}\n`);
}

const cliLog: Logger = { debug: () => undefined, info: () => undefined, warn: say, error: say, close: () => undefined };

function minutesArg(text: string | undefined, dflt: number): number {
  if (text === undefined) return dflt;
  if (!/^\d{1,9}$/.test(text)) throw new RelayInputError(`${JSON.stringify(text)} is not a number of minutes`);
  return Number(text) * 60;
}

async function run(relay: RelayTracker, sub: string, args: readonly string[]): Promise<number> {
  const ttl = relay.config.ttlS;
  switch (sub) {
    case 'add': {
      if (args.length < 1 || args.length > 2) break;
      const ticks = args[1];
      if (ticks !== undefined && !/^\d{1,12}$/.test(ticks)) throw new RelayInputError(`${JSON.stringify(ticks)} is not a time in epoch seconds`);
      const ip = await relay.grant(args[0]!, ticks === undefined ? Math.floor(Date.now() / 1000) : Number(ticks));
      say(`${ip} added`);
      return 0;
    }
    case 'delete': {
      if (args.length < 1) break;
      const gone = await relay.revoke(args);
      say(`${gone.length} of ${args.length} deleted`);
      return 0;
    }
    case 'expire': {
      if (args.length > 1) break;
      const gone = await relay.expire(minutesArg(args[0], ttl));
      say(`${gone.length} expired`);
      return 0;
    }
    case 'list': {
      if (args.length > 1) break;
      process.stdout.write(grantLines(await relay.live(minutesArg(args[0], ttl))));
      return 0;
    }
    case 'dump': {
      if (args.length > 0) break;
      process.stdout.write(grantLines(inGrantOrder(await relay.store.entries())));
      return 0;
    }
  }
  process.stderr.write(USAGE);
  return 2;
}

/** `authmux relay ...`: vsmtprelay's commands on whichever store the config names. */
export async function relayMain(argv: readonly string[]): Promise<number> {
  const opts = getopt(argv, 'O:m:h');
  if (opts.last.has('h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  const [sub, ...args] = opts.operands;
  if (!sub) {
    process.stderr.write(USAGE);
    return 2;
  }
  const o = opts.last.get('O');
  const m = opts.last.get('m');
  let relay: RelayTracker | undefined;
  try {
    const config = loadConfig({ file: typeof o === 'string' ? o : undefined, env: process.env, flags: { runDir: typeof m === 'string' ? m : undefined } });
    const { createRelayTracker } = await import('../relay/index.js');
    relay = await createRelayTracker(config, cliLog);
    if (!relay) {
      say('relay_store is none: nothing to do');
      return 1;
    }
    return await run(relay, sub, args);
  } catch (err) {
    say((err as Error).message);
    return err instanceof RelayInputError ? 2 : 111;
  } finally {
    await relay?.close();
  }
}
