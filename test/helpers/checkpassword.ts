import { spawn } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './daemon.js';
import { tempDir } from './fixtures.js';

export const CHECKPASSWORD = join(REPO, 'bin/authmux-checkpassword');

/**
 * The next program of the tests: prints who and where it is, what it got
 * (env, fd flags, ignored signals), so the test can check what exec kept.
 */
const PROBE = `#!/bin/sh
me=$$
field() { awk -v k="$1" '$1 == k":" { print $2 }' "$2"; }
echo "pid $me"
echo "ppid $(field PPid /proc/$me/status)"
echo "cwd $(pwd -P)"
echo "uid $(id -u) gid $(id -g) groups $(id -G)"
echo "USER=$USER"
echo "HOME=$HOME"
echo "SHELL=$SHELL"
echo "VPOPUSER=\${VPOPUSER-unset}"
echo "args $*"
for fd in 0 1 2 3 4; do
  if [ -e /proc/$me/fdinfo/$fd ]; then echo "fd$fd $(awk '$1 == "flags:" { print $2 }' /proc/$me/fdinfo/$fd)"; else echo "fd$fd closed"; fi
done
echo "sigign $(field SigIgn /proc/$me/status)"
echo "comm $(cat /proc/$me/comm)"
exit 7
`;

/** Writes the probe into a world-readable directory (the next program may run as any uid). */
export function writeProbe(): string {
  const dir = tempDir('authmux-probe-');
  chmodSync(dir, 0o755);
  const path = join(dir, 'probe.sh');
  writeFileSync(path, PROBE, { mode: 0o755 });
  return path;
}

/** What the probe printed, as a map of its first word to the rest. */
export function probeFacts(out: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of out.split('\n')) {
    const eq = line.indexOf('=');
    const sp = line.indexOf(' ');
    if (eq > 0 && (sp < 0 || eq < sp)) m.set(line.slice(0, eq), line.slice(eq + 1));
    else if (sp > 0) m.set(line.slice(0, sp), line.slice(sp + 1));
  }
  return m;
}

/** True when an octal fd flags word from /proc has O_NONBLOCK set. */
export function isNonBlocking(flagsOctal: string): boolean {
  return (parseInt(flagsOctal, 8) & 0o4000) !== 0;
}

export function fd3Input(login: string, password: string, timestamp = ''): Buffer {
  return Buffer.from(`${login}\0${password}\0${timestamp}\0`, 'latin1');
}

export interface Outcome {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the program the way qmail-popup does: fd 3 a pipe holding the login, prog after it. */
export function runCheckpassword(input: Buffer | undefined, prog: readonly string[], env: NodeJS.ProcessEnv, command: readonly string[] = [CHECKPASSWORD]): Promise<Outcome> {
  return new Promise((resolveRun) => {
    const p = spawn(command[0]!, [...command.slice(1), ...prog], {
      stdio: input === undefined ? ['ignore', 'pipe', 'pipe'] : ['ignore', 'pipe', 'pipe', 'pipe'],
      env: { PATH: process.env['PATH'], ...env },
    });
    let stdout = '';
    let stderr = '';
    p.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    p.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    if (input !== undefined) {
      const fd3 = p.stdio[3] as NodeJS.WritableStream;
      fd3.on('error', () => undefined);
      fd3.end(input);
    }
    p.on('close', (code) => resolveRun({ code, stdout, stderr }));
  });
}
