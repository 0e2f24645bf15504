import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function tempDir(prefix = 'authmux-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A hash made by the real mkpasswd (whois package), i.e. by libxcrypt. */
export function mkpasswd(method: string, password: string, rounds?: number): string {
  const cost = rounds === undefined ? [] : ['-R', String(rounds)];
  return execFileSync('mkpasswd', ['-m', method, ...cost, '--stdin'], { input: password }).toString().trim();
}

export interface SystemUser {
  readonly name: string;
  readonly uid: number;
  readonly home?: string;
}

/**
 * An /etc tree under `root` whose shadow entries are written by the real
 * chpasswd (-R chroots there), exactly as an admin's `chpasswd` would.
 */
export class EtcTree {
  readonly etc: string;
  constructor(readonly root: string) {
    this.etc = join(root, 'etc');
    mkdirSync(this.etc, { recursive: true });
    writeFileSync(this.passwd, '');
    writeFileSync(this.shadow, '', { mode: 0o640 });
  }
  get passwd(): string {
    return join(this.etc, 'passwd');
  }
  get shadow(): string {
    return join(this.etc, 'shadow');
  }
  addUser(u: SystemUser, shadowTail = '19000:0:99999:7:::'): void {
    writeFileSync(this.passwd, readFileSync(this.passwd, 'utf8') + `${u.name}:x:${u.uid}:${u.uid}::${u.home ?? '/nonexistent'}:/bin/sh\n`);
    writeFileSync(this.shadow, readFileSync(this.shadow, 'utf8') + `${u.name}:!:${shadowTail}\n`);
  }
  /** Sets passwords with chpasswd -c METHOD (YESCRYPT, SHA512, SHA256, MD5, DES). */
  chpasswd(method: string, pairs: ReadonlyArray<readonly [string, string]>): void {
    const input = pairs.map(([u, p]) => `${u}:${p}`).join('\n') + '\n';
    execFileSync('chpasswd', ['-R', this.root, '-c', method], { input });
  }
  /** Sets an already-made hash (chpasswd -e), e.g. a bcrypt one from mkpasswd. */
  setHash(user: string, hash: string): void {
    execFileSync('chpasswd', ['-R', this.root, '-e'], { input: `${user}:${hash}\n` });
  }
  /** Rewrites one user's shadow fields after the hash (lstchg:min:max:warn:inactive:expire:flag). */
  setAging(user: string, tail: string): void {
    const lines = readFileSync(this.shadow, 'utf8').split('\n').map((l) => {
      const f = l.split(':');
      return f[0] === user ? `${f[0]}:${f[1]}:${tail}` : l;
    });
    writeFileSync(this.shadow, lines.join('\n'));
  }
  /** Writes a user's shadow hash field as given, bypassing chpasswd (for empty or odd values). */
  setRawHash(user: string, hash: string): void {
    const lines = readFileSync(this.shadow, 'utf8').split('\n').map((l) => {
      const f = l.split(':');
      return f[0] === user ? [f[0], hash, ...f.slice(2)].join(':') : l;
    });
    writeFileSync(this.shadow, lines.join('\n'));
  }
  hashOf(user: string): string {
    const line = readFileSync(this.shadow, 'utf8').split('\n').find((l) => l.startsWith(`${user}:`));
    if (!line) throw new Error(`no shadow line for ${user}`);
    return line.split(':')[1]!;
  }
}

export function today(): number {
  return Math.floor(Date.now() / 86_400_000);
}

/** A TCP port nothing listens on now, on every IPv4 address (127.0.0.2 included). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen(0, '0.0.0.0', resolve);
  });
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}
