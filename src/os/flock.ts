import { requireNative } from './native.js';

const LOCK_EX = 2;
const LOCK_NB = 4;
const LOCK_UN = 8;
const EWOULDBLOCK = 11;

type Flock = (fd: number, op: number) => number;
let flock: Flock | undefined;
let errno: (() => number) | undefined;

function bind(): Flock {
  if (!flock) {
    const koffi = requireNative('koffi') as { load(name: string): { func(sig: string): Flock }; errno(): number };
    flock = koffi.load('libc.so.6').func('int flock(int fd, int op)');
    errno = () => koffi.errno();
  }
  return flock;
}

/**
 * flock(2) through koffi: an advisory lock the kernel drops when its holder
 * dies, so a writer killed with -9 never leaves a lock behind to be guessed
 * stale. True when taken; false when another holds it; throws on other errors.
 */
export function tryLockExclusive(fd: number): boolean {
  if (bind()(fd, LOCK_EX | LOCK_NB) === 0) return true;
  const e = errno!();
  if (e === EWOULDBLOCK) return false;
  throw new Error(`flock: errno ${e}`);
}

export function unlock(fd: number): void {
  bind()(fd, LOCK_UN);
}
