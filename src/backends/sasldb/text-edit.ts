import { closeSync, openSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { assertPrivateDir, isSafePathComponent, replaceFile } from '../../os/safe-files.js';
import { formatTextLine, keyText, parseTextSasldb, TextSasldbError } from './text-sasldb.js';

const LOCK_STALE_MS = 30_000;

/** A lock file beside the sasldb, so two editors never lose each other's change. */
function withLock<T>(path: string, fn: () => T): T {
  assertPrivateDir(dirname(path), 'sasldb', { sticky: true });
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
  // The checkpassword program makes a home from user and realm (virtual_home): neither may name a path of its own.
  for (const [what, v] of [['user', user], ['realm', realm]] as const) {
    if (v !== '' && !isSafePathComponent(v)) throw new TextSasldbError(`${what} ${JSON.stringify(v)}: no "/", leading "." or control characters`);
  }
  const line = formatTextLine(user, realm, value, isHash);
  return withLock(path, () => {
    const { lines, mode } = currentLines(path);
    const key = keyText(user, realm);
    const kept = lines.filter((l) => keyOf(l) !== key);
    replaceFile(path, Buffer.from([...kept, line].join('\n') + '\n', 'latin1'), mode);
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
    replaceFile(path, Buffer.from(kept.length ? kept.join('\n') + '\n' : '', 'latin1'), mode);
    return true;
  });
}
