import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** What each descriptor points at now: "pipe:[123]", "socket:[45]", a path. */
function table(): Map<number, string> {
  const out = new Map<number, string>();
  for (const name of readdirSync('/proc/self/fd')) {
    try {
      out.set(Number(name), readlinkSync(`/proc/self/fd/${name}`));
    } catch {
      // The directory handle readdirSync used, closed by now.
    }
  }
  return out;
}

/** 'r' or 'w' for a pipe end, from the access mode in /proc/self/fdinfo. */
function pipeEnd(fd: number): 'r' | 'w' | undefined {
  try {
    const m = /^flags:\s*([0-7]+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'latin1'));
    return m ? ((parseInt(m[1]!, 8) & 3) === 0 ? 'r' : 'w') : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The descriptors this process received from its parent. Node marks every
 * open descriptor close-on-exec at start-up (libuv's
 * uv_disable_stdio_inheritance), so a program it execs would lose fds 0-2 and
 * Dovecot's fd 4. Node's own are told apart by kind: anonymous inodes
 * (epoll, eventfd) and pipes whose read and write ends are both here (its
 * wake-up pipes). The same end held twice is a parent's: Dovecot leaves a
 * duplicate of fds 3 and 4 open in its checkpassword child.
 */
export function snapshotInherited(): Map<number, string> {
  const now = table();
  const fdsOf = new Map<string, number[]>();
  for (const [fd, target] of now) {
    if (fd > 2 && target.startsWith('pipe:')) fdsOf.set(target, [...(fdsOf.get(target) ?? []), fd]);
  }
  // Only a pipe held more than once needs its ends told apart: each fdinfo read costs start-up time.
  const ends = new Map<string, Set<string>>();
  for (const [target, fds] of fdsOf) ends.set(target, new Set(fds.length > 1 ? fds.map((fd) => pipeEnd(fd) ?? '?') : ['?']));
  const inherited = new Map<number, string>();
  for (const [fd, target] of now) {
    if (fd <= 2) inherited.set(fd, target);
    else if (target.startsWith('anon_inode:')) continue;
    else if (target.startsWith('pipe:') && ends.get(target)!.has('r') && ends.get(target)!.has('w')) continue;
    else inherited.set(fd, target);
  }
  return inherited;
}

/** Those of `snapshot` still open on the same object (a closed fd 3 reused for a database socket is not one). */
export function stillInherited(snapshot: Map<number, string>): number[] {
  const now = table();
  return [...snapshot].filter(([fd, target]) => now.get(fd) === target).map(([fd]) => fd);
}
