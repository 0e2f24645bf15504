import { closeSync, fsyncSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { formatTextLine, keyText, parseTextSasldb } from './text-sasldb.js';

const LOCK_STALE_MS = 30_000;

/** A lock file beside the sasldb, so two editors never lose each other's change. */
function withLock<T>(path: string, fn: () => T): T {
  const lock = `${path}.lock`;
  for (let i = 0; ; i++) {
    try {
      closeSync(openSync(lock, 'wx', 0o600));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      try {
        if (Date.now() - statSync(lock).mtimeMs > LOCK_STALE_MS) unlinkSync(lock);
      } catch {
        // gone meanwhile
      }
      if (i > 200) throw new Error(`${lock} is held by another editor`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 25);
    }
  }
  try {
    return fn();
  } finally {
    unlinkSync(lock);
  }
}

/** Replaces the file in one step: a reader sees the old file or the new one, never a mix. */
export function writeAtomically(path: string, content: string, mode: number): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', mode);
  try {
    writeSync(fd, content, 0, 'latin1');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  const dir = openSync(dirname(path), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

function currentLines(path: string): { lines: string[]; mode: number } {
  let content: Buffer;
  let mode = 0o640;
  try {
    content = readFileSync(path);
    mode = statSync(path).mode & 0o7777;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    content = Buffer.alloc(0);
  }
  parseTextSasldb(content, path); // refuse to edit a file that does not parse
  const text = content.toString('latin1');
  const lines = text === '' ? [] : text.replace(/\n$/, '').split('\n');
  return { lines, mode };
}

function keyOf(line: string): string | undefined {
  if (line.trim() === '' || line.trimStart().startsWith('#')) return undefined;
  const colon = line.indexOf(':');
  return colon < 0 ? undefined : line.slice(0, colon);
}

/** Sets a user's password (or hash, with isHash) in a text sasldb; returns whether it replaced one. */
export function setTextUser(path: string, user: string, realm: string, value: string, isHash: boolean): boolean {
  const line = formatTextLine(user, realm, value, isHash);
  return withLock(path, () => {
    const { lines, mode } = currentLines(path);
    const key = keyText(user, realm);
    const kept = lines.filter((l) => keyOf(l) !== key);
    writeAtomically(path, [...kept, line].join('\n') + '\n', mode);
    return kept.length !== lines.length;
  });
}

/** Deletes a user from a text sasldb; returns whether it was there. */
export function deleteTextUser(path: string, user: string, realm: string): boolean {
  return withLock(path, () => {
    const { lines, mode } = currentLines(path);
    const key = keyText(user, realm);
    const kept = lines.filter((l) => keyOf(l) !== key);
    if (kept.length === lines.length) return false;
    writeAtomically(path, kept.length ? kept.join('\n') + '\n' : '', mode);
    return true;
  });
}
