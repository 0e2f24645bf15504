import { requireNative } from './native.js';

/**
 * The libc calls Node lacks, through koffi (the FFI the crypt binding uses):
 * Node 20 cannot replace its own process image, and it leaves SIGPIPE and
 * SIGXFSZ ignored, which an exec'd program would inherit.
 */
export interface Posix {
  /** O_NONBLOCK of each fd, or undefined for a closed one. */
  nonBlocking(fd: number): boolean | undefined;
  setNonBlocking(fd: number, on: boolean): void;
  /** Lets the descriptor survive exec. */
  keepOnExec(fd: number): void;
  /** Signals a fresh program expects at their default disposition. */
  resetSignals(): void;
  /** Replaces this process with `file` (looked up in PATH when it has no slash); returns only on failure, with errno's text. */
  execvpe(file: string, argv: readonly string[], env: Readonly<Record<string, string>>): string;
}

const F_SETFD = 2;
const F_GETFL = 3;
const F_SETFL = 4;
const O_NONBLOCK = 0o4000;
const SIGPIPE = 13;
const SIGXFSZ = 25;

type Fn = (...args: unknown[]) => number;
interface KoffiLib {
  func(sig: string): Fn;
}

export function loadPosix(): Posix {
  const koffi = requireNative('koffi') as { load(name: string): KoffiLib; errno(): number };
  const libc = koffi.load('libc.so.6');
  const fcntl = libc.func('int fcntl(int fd, int cmd, int arg)');
  const signal = libc.func('void *signal(int sig, void *handler)');
  const execvpe = libc.func('int execvpe(const char *file, const char **argv, const char **envp)');
  const strerror = libc.func('const char *strerror(int errnum)') as unknown as (n: number) => string;
  return {
    nonBlocking(fd) {
      const flags = fcntl(fd, F_GETFL, 0);
      return flags < 0 ? undefined : (flags & O_NONBLOCK) !== 0;
    },
    setNonBlocking(fd, on) {
      const flags = fcntl(fd, F_GETFL, 0);
      if (flags < 0) return;
      fcntl(fd, F_SETFL, on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK);
    },
    keepOnExec(fd) {
      fcntl(fd, F_SETFD, 0);
    },
    resetSignals() {
      signal(SIGPIPE, null);
      signal(SIGXFSZ, null);
    },
    execvpe(file, argv, env) {
      const envp = Object.entries(env).map(([k, v]) => `${k}=${v}`);
      execvpe(file, [...argv, null], [...envp, null]);
      return strerror(koffi.errno());
    },
  };
}
