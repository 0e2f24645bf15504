import { existsSync, lstatSync, mkdirSync, readFileSync, unlinkSync } from 'node:fs';
import { connect, type Server } from 'node:net';
import { dirname } from 'node:path';
import { ConfigError } from '../config/errors.js';
import { assertPrivateDir, replaceFile } from '../os/safe-files.js';

/**
 * Creates the run directory when missing (0755); an existing one keeps the
 * owner and mode the admin gave it, but one another user could write into
 * is refused: the pid file and sockets made there must not be redirected.
 */
export function ensureRunDir(dir: string): void {
  assertPrivateDir(dir, 'run directory (-m)');
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o755 });
  // Again once it exists: another user may have made it first, between the check and mkdir.
  assertPrivateDir(dir, 'run directory (-m)');
}

function probe(path: string): Promise<'live' | 'dead'> {
  return new Promise((resolve) => {
    const s = connect(path);
    const done = (state: 'live' | 'dead') => {
      s.destroy();
      resolve(state);
    };
    s.once('connect', () => done('live'));
    s.once('error', () => done('dead'));
    s.setTimeout(2000, () => done('live'));
  });
}

/**
 * Makes `path` free for our socket: a socket nobody answers on is a leftover
 * of a crash and is removed; one that answers belongs to a running daemon and
 * we refuse to steal it; anything that is not a socket is never deleted.
 */
export async function claimSocketPath(path: string, pidFile?: string): Promise<void> {
  // systemd's own socket, live and listening: nothing to claim.
  if (activated.has(path)) return;
  assertPrivateDir(dirname(path), `socket ${path}`);
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new ConfigError(`${path} exists and is not a socket; refusing to replace it`);
  if ((await probe(path)) === 'live') {
    let who = '';
    try {
      if (pidFile) who = ` (pid ${readFileSync(pidFile, 'utf8').trim()} per ${pidFile})`;
    } catch {
      // no pid file: the message still names the socket
    }
    throw new ConfigError(`another daemon is serving ${path}${who}; stop it first`);
  }
  unlinkSync(path);
}

export function writePidFile(path: string): void {
  replaceFile(path, Buffer.from(`${process.pid}\n`), 0o644);
}

/**
 * Listens on a claimed path with the socket made in `mode` at once, through
 * the umask: a chmod after the fact would follow whatever link another user
 * put at the path in between.
 */
export function listenUnix(server: Server, path: string, mode: number): Promise<void> {
  const fd = activated.get(path);
  // systemd made the socket, with the unit's SocketMode=: listen on what it passed.
  if (fd !== undefined) return listenOnFd(server, fd);
  return new Promise<void>((resolve, reject) => {
    const old = process.umask(~mode & 0o777);
    try {
      server.once('error', reject);
      // The bind happens within this call, so the umask is back before anything else runs.
      // The kernel caps it at somaxconn (4096 on Debian 12): room for a burst, queued as saslauthd's callers expect.
      server.listen({ path, backlog: 4096 }, () => {
        server.off('error', reject);
        const st = lstatSync(path);
        if (!st.isSocket()) reject(new ConfigError(`${path} is not our socket after listening; refusing to serve`));
        else resolve();
      });
    } finally {
      process.umask(old);
    }
  });
}

/** Socket paths whose listening socket systemd passed (socket activation), and its fd. */
const activated = new Map<string, number>();

/** From now on `path` is served on `fd`: not claimed, not bound, and not removed at stop (systemd owns it). */
export function adoptActivated(path: string, fd: number): void {
  activated.set(path, fd);
}

/** Whether systemd made the socket at `path` (its owner and mode are then the unit's). */
export function isActivated(path: string): boolean {
  return activated.has(path);
}

/** Removes a file we created, ignoring that it may already be gone. */
export function removeQuietly(path: string): void {
  if (activated.has(path)) return;
  try {
    unlinkSync(path);
  } catch {
    // already removed
  }
}

/** Listens on a socket made elsewhere (by systemd, or by the first process for a serving process). */
export function listenOnFd(server: Server, fd: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ fd }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
