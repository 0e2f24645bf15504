import { existsSync, lstatSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { ConfigError } from '../config/errors.js';

/** Creates the run directory when missing (0755); an existing one keeps the owner and mode the admin gave it. */
export function ensureRunDir(dir: string): void {
  if (existsSync(dir)) return;
  mkdirSync(dir, { recursive: true, mode: 0o755 });
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
export async function claimSocketPath(path: string, pidFile: string): Promise<void> {
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
      who = ` (pid ${readFileSync(pidFile, 'utf8').trim()} per ${pidFile})`;
    } catch {
      // no pid file: the message still names the socket
    }
    throw new ConfigError(`another daemon is serving ${path}${who}; stop it first`);
  }
  unlinkSync(path);
}

export function writePidFile(path: string): void {
  writeFileSync(path, `${process.pid}\n`, { mode: 0o644 });
}

/** Removes a file we created, ignoring that it may already be gone. */
export function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already removed
  }
}
