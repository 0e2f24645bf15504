import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './daemon.js';

/** The single executable `npm run package` writes. */
export const PACKAGED = join(REPO, 'dist/saslauthd');

function newestMtime(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(st.mtimeMs, ...readdirSync(path).map((n) => newestMtime(join(path, n))));
}

/** Packages dist/saslauthd when it is missing or older than the compiled sources or the script. */
export function ensurePackaged(): string {
  const inputs = [join(REPO, 'dist/src'), join(REPO, 'scripts/package-sea.sh')];
  if (!existsSync(PACKAGED) || statSync(PACKAGED).mtimeMs < Math.max(...inputs.map(newestMtime))) {
    execFileSync('sh', [join(REPO, 'scripts/package-sea.sh')], { stdio: ['ignore', 'pipe', 'pipe'] });
  }
  return PACKAGED;
}

/**
 * Live processes whose executable is `file` (by device and inode, so a bind
 * mount of it counts, in any mount namespace). Zombies have no executable
 * left and are not counted.
 */
export function processesOf(file: string): number[] {
  const want = statSync(file);
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .filter((n) => {
      try {
        const exe = statSync(`/proc/${n}/exe`);
        return exe.dev === want.dev && exe.ino === want.ino;
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** The kernel's name of a process (/proc/PID/comm), the one start-stop-daemon --name compares. */
export function commOf(pid: number): string {
  return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
}

/** The parent of a process, from /proc/PID/stat. */
export function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

/** Processes of `file` not started by another of them: daemons, without the workers a daemon starts (PAM's). */
export function daemonsOf(file: string): number[] {
  const all = processesOf(file);
  return all.filter((pid) => !all.includes(parentOf(pid)));
}
