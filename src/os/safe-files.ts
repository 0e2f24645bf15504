import { randomBytes } from 'node:crypto';
import { closeSync, constants, existsSync, fchmodSync, fstatSync, fsyncSync, lstatSync, openSync, readdirSync, realpathSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

/**
 * Every file the daemon (often root) creates or replaces goes through here:
 * nothing follows a symbolic link another user may have planted, temporary
 * names cannot be guessed, and a directory someone else can write into is
 * refused before anything is written in it.
 */

const { O_WRONLY, O_RDWR, O_CREAT, O_EXCL, O_APPEND, O_NOFOLLOW, O_NONBLOCK } = constants;
const STICKY = 0o1000;

export class UnsafePathError extends Error {
  override readonly name = 'UnsafePathError';
}

function euid(): number {
  return process.geteuid?.() ?? 0;
}

/**
 * Throws unless `dir` and every directory above it, both as written and as
 * its links really lead, is owned by root or by this user and writable by
 * no one else, a root-owned sticky directory (like /tmp) above it excepted.
 * `dir` itself may be such a sticky directory only with `sticky`: others may
 * add names there but never replace ours, which is enough for files made
 * only by O_EXCL and rename, never for sockets, pid and log files, whose
 * very name another user could take first. A directory not made yet is
 * judged by the nearest one that exists; check again once it is made.
 */
export function assertPrivateDir(dir: string, what: string, opts: { readonly sticky?: boolean } = {}): void {
  let p = resolve(dir);
  while (!existsSync(p) && p !== '/') p = dirname(p);
  const real = realpathSync(p);
  for (const start of real === p ? [p] : [p, real]) checkChain(start, dir, what, opts.sticky === true);
}

/**
 * Throws unless `dir`, every directory above it and everything below it is
 * owned by root or by this user and writable by no one else: code that root
 * loads from there (a package's .node file) must be code no other user
 * could have put there.
 */
export function assertPrivateTree(dir: string, what: string): void {
  assertPrivateDir(dir, what);
  const walk = (p: string) => {
    const st = lstatSync(p);
    const mode = st.mode & 0o7777;
    const writableByOthers = (mode & 0o002) !== 0 || ((mode & 0o020) !== 0 && st.gid !== 0);
    if ((st.uid !== 0 && st.uid !== euid()) || (writableByOthers && !st.isSymbolicLink())) {
      throw new UnsafePathError(`${what}: refusing ${dir}: ${p} belongs to uid ${st.uid}, mode ${mode.toString(8).padStart(4, '0')}; another user could change what is loaded from it`);
    }
    if (st.isDirectory()) for (const name of readdirSync(p)) walk(join(p, name));
  };
  walk(resolve(dir));
}

function checkChain(start: string, dir: string, what: string, sticky: boolean): void {
  for (let p = start; ; p = dirname(p)) {
    let st;
    try {
      st = statSync(p);
    } catch (err) {
      throw new UnsafePathError(`${what}: cannot check ${p}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    const mode = st.mode & 0o7777;
    const octal = mode.toString(8).padStart(4, '0');
    if (st.uid !== 0 && st.uid !== euid()) {
      throw new UnsafePathError(`${what}: refusing ${dir}: ${p} belongs to uid ${st.uid} (mode ${octal}), who could put links or files there; make it owned by root`);
    }
    const writableByOthers = (mode & 0o002) !== 0 || ((mode & 0o020) !== 0 && st.gid !== 0);
    const stickyRoot = (mode & STICKY) !== 0 && st.uid === 0;
    // Above the directory itself a sticky root directory is harmless: nobody can replace our entry in it.
    if (writableByOthers && !(stickyRoot && (sticky || p !== start))) {
      const who = (mode & 0o002) !== 0 ? 'every user' : `group ${st.gid}`;
      const hint = stickyRoot ? '; a sticky directory does not stop another user taking the name first' : '';
      throw new UnsafePathError(`${what}: refusing ${dir}: ${p} is writable by ${who} (mode ${octal}), who could put links or files there${hint}; use a directory only root writes`);
    }
    if (p === '/') return;
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

/**
 * Opens a log or similar file for appending: never through a link, never a
 * FIFO or device (O_NONBLOCK keeps a planted FIFO from hanging the start),
 * never a file of another owner.
 */
export function openAppend(path: string, mode = 0o640): number {
  const fd = openSync(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK, mode);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new UnsafePathError(`${path} is not a regular file`);
    if (st.uid !== euid()) throw new UnsafePathError(`${path} belongs to uid ${st.uid}, not to this daemon; remove it`);
    return fd;
  } catch (err) {
    closeSync(fd);
    throw err;
  }
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
