import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const names = (file: string) => readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => l.split(':')[0]!);

/**
 * The machine's accounts copied under `root`/etc, where the real useradd
 * (--prefix) and chpasswd (-R) add users: mounted over /etc in a private
 * namespace they are system accounts to every program there, and the
 * machine's own files are never written. The copy's shadow holds no real
 * hash: every existing account is locked in it.
 */
export class PrivateAccounts {
  readonly etc: string;

  constructor(readonly root: string) {
    this.etc = join(root, 'etc');
    mkdirSync(this.etc, { recursive: true, mode: 0o700 });
    copyFileSync('/etc/passwd', join(this.etc, 'passwd'));
    copyFileSync('/etc/group', join(this.etc, 'group'));
    writeFileSync(join(this.etc, 'shadow'), names('/etc/passwd').map((n) => `${n}:*:19000:0:99999:7:::\n`).join(''), { mode: 0o640 });
    writeFileSync(join(this.etc, 'gshadow'), names('/etc/group').map((n) => `${n}:*::\n`).join(''), { mode: 0o640 });
  }

  /** useradd with a group of its own and no home, then chpasswd with the given hash method (YESCRYPT, SHA512, ...). */
  addUser(name: string, password: string, method = 'YESCRYPT'): void {
    execFileSync('useradd', ['--prefix', this.root, '--no-create-home', '--user-group', '--shell', '/usr/sbin/nologin', name]);
    execFileSync('chpasswd', ['-R', this.root, '-c', method], { input: `${name}:${password}\n` });
  }

  /** [private copy, system path] pairs to bind-mount. */
  mounts(): Array<readonly [string, string]> {
    return ['passwd', 'group', 'shadow', 'gshadow'].map((f) => [join(this.etc, f), `/etc/${f}`] as const);
  }
}
