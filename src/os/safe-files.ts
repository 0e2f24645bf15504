import { randomBytes } from 'node:crypto';
import { closeSync, constants, fchmodSync, fstatSync, fsyncSync, openSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';

/**
 * Every file the daemon (often root) creates or replaces goes through here:
 * nothing follows a symbolic link another user may have planted, temporary
 * names cannot be guessed, and a directory someone else can write into is
 * refused before anything is written in it.
 */

const { O_WRONLY, O_RDWR, O_CREAT, O_EXCL, O_APPEND, O_NOFOLLOW } = constants;
const STICKY = 0o1000;

export class UnsafePathError extends Error {
  override readonly name = 'UnsafePathError';
}

function euid(): number {
  return process.geteuid?.() ?? 0;
}

/**
 * Throws unless `dir` and every directory above it is owned by root or by
 * this user and writable by no one else. World- or group-writable is
 * allowed only with the sticky bit on a root-owned directory (like /tmp),
 * where others may add names but never replace ours. A directory not made
 * yet is judged by the nearest one that exists.
 */
export function assertPrivateDir(dir: string, what: string): void {
  let p = resolve(dir);
  for (;;) {
    let st;
    try {
      st = statSync(p);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || p === '/') throw new UnsafePathError(`${what}: cannot check ${p}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      p = dirname(p);
      continue;
    }
    const mode = st.mode & 0o7777;
    const octal = mode.toString(8).padStart(4, '0');
    if (st.uid !== 0 && st.uid !== euid()) {
      throw new UnsafePathError(`${what}: refusing ${dir}: ${p} belongs to uid ${st.uid} (mode ${octal}), who could put links or files there; make it owned by root`);
    }
    const writableByOthers = (mode & 0o002) !== 0 || ((mode & 0o020) !== 0 && st.gid !== 0);
    if (writableByOthers && !((mode & STICKY) !== 0 && st.uid === 0)) {
      throw new UnsafePathError(`${what}: refusing ${dir}: ${p} is writable by ${(mode & 0o002) !== 0 ? 'every user' : `group ${st.gid}`} (mode ${octal}), who could put links or files there; chmod go-w it`);
    }
    if (p === '/') return;
    p = dirname(p);
  }
}

/**
 * Replaces `path` whole: a new file of an unguessable name made with
 * O_EXCL|O_NOFOLLOW, fsync, rename over the old name (a link there is
 * replaced, never followed), fsync of the directory. Readers see the old
 * file or the new one.
 */
export function replaceFile(path: string, body: Buffer, mode = 0o644): void {
  const tmp = `${dirname(path)}/.${basename(path)}.${randomBytes(8).toString('hex')}.tmp`;
  const fd = openSync(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
  try {
    try {
      // The umask may have narrowed the mode; readers such as makemap and postmap need it as asked.
      fchmodSync(fd, mode);
      for (let off = 0; off < body.length; ) off += writeSync(fd, body, off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // Renamed already, or never made.
    }
    throw err;
  }
  const dirFd = openSync(dirname(path), 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}

/**
 * Opens (creating when missing) a file only this user may open: a lock
 * anyone could open, anyone could hold (flock works on a read-only
 * descriptor). A link, a non-file or a file of another owner is refused.
 */
export function openPrivateFile(path: string): number {
  const fd = openSync(path, O_RDWR | O_CREAT | O_NOFOLLOW, 0o600);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new UnsafePathError(`${path} is not a regular file`);
    if (st.uid !== euid()) throw new UnsafePathError(`${path} belongs to uid ${st.uid}, not to this daemon; remove it`);
    if ((st.mode & 0o077) !== 0) fchmodSync(fd, 0o600);
    return fd;
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

/** Opens a log or similar file for appending, never through a link. */
export function openAppend(path: string, mode = 0o640): number {
  return openSync(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW, mode);
}

/**
 * Whether `value` can stand for one directory name inside a base directory:
 * not empty, no "/", not starting with "." (so neither ".." nor a hidden
 * name), no control characters. Login names substituted into home paths
 * must pass, or a login could walk out of the base.
 */
export function isSafePathComponent(value: string): boolean {
  return value !== '' && !value.startsWith('.') && !/[/\x00-\x1f\x7f]/.test(value);
}
