import { closeSync, readSync, writeSync } from 'node:fs';
import { becomeChildRole } from './child-role.js';
import type { AuthRequest } from '../auth/types.js';
import { loadConfig, type Config } from '../config/config.js';
import { askDaemon } from '../doors/checkpassword/ask-daemon.js';
import { underDovecot } from '../doors/checkpassword/environment.js';
import { exitFor, toAuthRequest } from '../doors/checkpassword-program.js';
import { identityFor, UnsafeHome, type Identity } from '../doors/checkpassword/identity.js';
import { logLine } from '../log-line.js';
import type { Logger } from '../log.js';
import { snapshotInherited, stillInherited } from '../os/inherited-fds.js';
import { keepStdioPlain } from '../os/plain-stdio.js';
import { loadPosix, type Posix } from '../os/posix.js';
import type { DoorReply } from '../protocol/checkpassword-door.js';
import { EXIT, MAX_INPUT, parseFd3Input } from '../protocol/checkpassword.js';

const NAME = 'authmux-checkpassword';
const DAEMON_TIMEOUT_MS = 15_000;

/** Lines on stderr, which qmail's and Dovecot's logs collect; no pino, no threads: this program lives for one login. */
function say(msg: string): void {
  try {
    writeSync(2, `${NAME}: ${msg.replace(/[\x00-\x1f\x7f]/g, '?')}\n`);
  } catch {
    // stderr closed: nothing to tell.
  }
}

const stderrLog: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: (m) => say(m),
  error: (m) => say(m),
  close: () => undefined,
};

class Exit extends Error {
  constructor(readonly code: number, why: string) {
    super(why);
  }
}

/** fd 3 to EOF, at most MAX_INPUT bytes (one more is read to notice misuse), then closed. */
function readFd3(inherited: boolean): Buffer {
  // Node opens descriptors of its own at start-up; one of them may sit at 3 when the parent gave none.
  if (!inherited) throw new Exit(EXIT.misuse, 'fd 3 is not open: run me the checkpassword way');
  const buf = Buffer.alloc(MAX_INPUT + 1);
  let len = 0;
  for (;;) {
    let n: number;
    try {
      n = readSync(3, buf, len, buf.length - len, null);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN' || code === 'EINTR') continue;
      if (code === 'EBADF') throw new Exit(EXIT.misuse, 'fd 3 is not open: run me the checkpassword way');
      throw new Exit(EXIT.temporary, `reading fd 3: ${code ?? String(err)}`);
    }
    if (n === 0) break;
    len += n;
    if (len > MAX_INPUT) break;
  }
  closeSync(3);
  return buf.subarray(0, len);
}

async function check(config: Config, req: AuthRequest): Promise<DoorReply> {
  const socket = config.checkpassword.socket;
  if (socket) {
    return askDaemon(socket, {
      login: Buffer.from(req.login, 'latin1'),
      password: req.password,
      service: Buffer.from(req.service, 'latin1'),
      realm: Buffer.from(req.realm, 'latin1'),
      clientAddr: Buffer.from(req.clientIp ?? '', 'latin1'),
      timestamp: req.challenge ?? Buffer.alloc(0),
    }, DAEMON_TIMEOUT_MS);
  }
  const { checkDirect } = await import('../doors/checkpassword/check-direct.js');
  return checkDirect(config, req, stderrLog);
}

async function recordRelay(config: Config, req: AuthRequest, mayRelay: boolean): Promise<void> {
  if (config.relay.store === 'none' || !req.clientIp) return;
  const { createRelayTracker } = await import('../relay/index.js');
  const relay = await createRelayTracker(config, stderrLog);
  if (!relay) return;
  try {
    await relay.recordLogin({ service: req.service, clientIp: req.clientIp, mayRelay, user: req.login });
  } catch (err) {
    say(`relay grant for ${req.clientIp} not recorded: ${(err as Error).message}`);
  } finally {
    await relay.close();
  }
}

/**
 * djb's order: groups, gid, uid, chdir, environment, exec. Under Dovecot the
 * ids go back through checkpassword-reply's EXTRA instead of a setuid,
 * which Dovecot refuses; anywhere else a root process always drops to the
 * account before the exec, so no next program ever runs as root for it.
 */
function become(posix: Posix, id: Identity, argv: readonly string[], env: NodeJS.ProcessEnv, blocking: (boolean | undefined)[], inherited: Map<number, string>): never {
  const next: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) next[k] = v;
  const uid = process.getuid!();
  if (underDovecot(env, argv[0]!, inherited, uid)) {
    next['userdb_uid'] = String(id.uid);
    next['userdb_gid'] = String(id.gid);
    next['EXTRA'] = [env['EXTRA'], 'userdb_uid', 'userdb_gid'].filter(Boolean).join(' ');
  } else if (uid === 0 || process.geteuid!() === 0) {
    try {
      process.setgroups!([id.gid]);
      process.setgid!(id.gid);
      process.setuid!(id.uid);
    } catch (err) {
      throw new Exit(EXIT.temporary, `cannot switch to uid ${id.uid} gid ${id.gid}: ${(err as Error).message}`);
    }
    // setuid from root also sets the saved uid; checked rather than trusted, since the next step is an exec.
    if (process.getuid!() !== id.uid || process.geteuid!() !== id.uid) throw new Exit(EXIT.temporary, `uid switch to ${id.uid} did not take`);
  } else if (uid !== id.uid) {
    throw new Exit(EXIT.temporary, `not root: cannot switch to uid ${id.uid}`);
  }
  try {
    process.chdir(id.home);
  } catch (err) {
    throw new Exit(EXIT.temporary, `chdir ${id.home}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  Object.assign(next, { USER: id.user, HOME: id.home, SHELL: id.shell }, id.env);
  // The next program gets the descriptors this one got (0-2, Dovecot's 4), blocking mode included, and default signals.
  for (const fd of stillInherited(inherited)) posix.keepOnExec(fd);
  blocking.forEach((nb, fd) => nb !== undefined && posix.nonBlocking(fd) !== nb && posix.setNonBlocking(fd, nb));
  posix.resetSignals();
  const why = posix.execvpe(argv[0]!, argv, next);
  throw new Exit(EXIT.temporary, `cannot run ${argv[0]}: ${why}`);
}

/** `authmux-checkpassword prog [args...]`: returns an exit code, or never returns (prog replaced it). */
export async function checkpasswordMain(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  keepStdioPlain();
  // A worker's life is its channel's: it exits when the program that started it is done.
  if (await becomeChildRole(env)) return new Promise<number>(() => undefined);
  // Should the event loop ever run dry with no verdict, Node would exit 0, which reads as success: make it 111.
  process.once('beforeExit', () => {
    say('internal error: no verdict reached');
    process.exit(EXIT.temporary);
  });
  try {
    const inherited = snapshotInherited();
    const fd3 = inherited.delete(3);
    if (argv.length === 0) throw new Exit(EXIT.misuse, 'usage: authmux-checkpassword prog [args...]');
    const input = parseFd3Input(readFd3(fd3));
    if (input.kind === 'misuse') throw new Exit(EXIT.misuse, input.why);
    let config: Config;
    try {
      config = loadConfig({ env });
      // Asking the daemon, the daemon's mechanisms decide; checking here, this configuration must name one.
      if (!config.checkpassword.socket && config.mechs.length === 0) throw new Error('no mechanism: set the key mech');
    } catch (err) {
      throw new Exit(EXIT.temporary, `configuration: ${(err as Error).message}`);
    }
    const req = toAuthRequest(input, env, config.checkpassword.defaultService);
    const who = logLine`[user=${req.login}] [service=${req.service}]` + (req.clientIp ? logLine` [client=${req.clientIp}]` : '');
    // The daemon works on the answer while the FFI loads (it is needed only to exec); checking here, the hash needs it first.
    const pending = config.checkpassword.socket ? check(config, req) : undefined;
    const posix = loadPosix();
    const blocking = [0, 1, 2].map((fd) => posix.nonBlocking(fd));
    const reply = await (pending ?? check(config, req));
    if (reply.kind !== 'ok') throw new Exit(exitFor(reply), `${reply.kind === 'no' ? 'auth failure' : 'temporary failure'} ${who}: ${reply.reason}`);
    let id: Identity;
    try {
      id = identityFor(config, reply.account);
    } catch (err) {
      throw new Exit(err instanceof UnsafeHome ? EXIT.refused : EXIT.temporary, `${who}: ${(err as Error).message}`);
    }
    // Root's group gives nearly root's reach over the system's files: neither logs in this way.
    if (id.uid === 0 || id.gid === 0) throw new Exit(EXIT.refused, `auth refused ${who}: uid 0 and gid 0 never log in through checkpassword`);
    // Asking the daemon, the daemon recorded the grant; checking here, this program does, before the session starts.
    if (!config.checkpassword.socket) await recordRelay(config, req, reply.account.mayRelay);
    return become(posix, id, argv, env, blocking, inherited);
  } catch (err) {
    if (err instanceof Exit) {
      say(err.message);
      return err.code;
    }
    say(`internal error: ${err instanceof Error ? err.message : String(err)}`);
    return EXIT.temporary;
  }
}
