import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './fixtures.js';

/** Where scripts/provision-test.sh unpacks exim4-daemon-heavy (it cannot be installed beside Postfix). */
export const EXIM_BIN = '/var/tmp/authmux-exim/usr/sbin/exim4';

/**
 * The real Exim, from its unpacked Debian package, as a foreground daemon on
 * a loopback high port with its own spool and log, its AUTH PLAIN and LOGIN
 * handed to `driver = dovecot` on `socket`. Debian's build runs sessions as
 * Debian-exim: the socket must let that account connect.
 */
export class PrivateExim {
  readonly port = 21000 + Math.floor(Math.random() * 20000);
  readonly dir = tempDir('authmux-exim-');
  private readonly proc: ChildProcess;
  private out = '';

  private constructor(socket: string) {
    if (!existsSync(EXIM_BIN)) throw new Error(`Exim is not here: let scripts/provision-test.sh unpack it to ${EXIM_BIN}`);
    chmodSync(this.dir, 0o755);
    for (const d of ['spool', 'log']) {
      mkdirSync(join(this.dir, d));
      chownSync(join(this.dir, d), uidOf('Debian-exim'), gidOf('Debian-exim'));
    }
    const authenticator = (name: string) => [
      `${name.toLowerCase()}:`,
      '  driver = dovecot',
      `  public_name = ${name}`,
      `  server_socket = ${socket}`,
      '  server_set_id = $auth1',
    ];
    const conf = join(this.dir, 'exim.conf');
    writeFileSync(conf, [
      'primary_hostname = authmux-test.example',
      'exim_user = Debian-exim',
      'exim_group = Debian-exim',
      `spool_directory = ${join(this.dir, 'spool')}`,
      `log_file_path = ${join(this.dir, 'log')}/%slog`,
      `pid_file_path = ${join(this.dir, 'exim.pid')}`,
      'local_interfaces = 127.0.0.1',
      `daemon_smtp_ports = ${this.port}`,
      'keep_environment =',
      'tls_advertise_hosts =',
      // AUTH over plain text on loopback: the test has no certificate, and it is the authenticator that is under test.
      'auth_advertise_hosts = *',
      'acl_smtp_rcpt = acl_rcpt',
      'begin acl',
      'acl_rcpt:',
      '  accept authenticated = *',
      '  deny',
      'begin authenticators',
      ...authenticator('PLAIN'),
      ...authenticator('LOGIN'),
      '',
    ].join('\n'));
    this.proc = spawn(EXIM_BIN, ['-C', conf, '-bdf'], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stdout!.on('data', (c: Buffer) => (this.out += c.toString()));
    this.proc.stderr!.on('data', (c: Buffer) => (this.out += c.toString()));
  }

  static start(socket: string): PrivateExim {
    return new PrivateExim(socket);
  }

  /** Exim's main and panic logs, and what it printed: for assertion messages. */
  log(): string {
    const logs = join(this.dir, 'log');
    const files = existsSync(logs) ? readdirSync(logs) : [];
    return this.out + files.map((f) => readFileSync(join(logs, f), 'latin1')).join('');
  }

  stop(): void {
    this.proc.kill('SIGTERM');
  }
}

function uidOf(name: string): number {
  const line = readFileSync('/etc/passwd', 'latin1').split('\n').find((l) => l.startsWith(`${name}:`));
  if (!line) throw new Error(`no account ${name}: scripts/provision-test.sh makes it`);
  return Number(line.split(':')[2]);
}

function gidOf(name: string): number {
  const line = readFileSync('/etc/group', 'latin1').split('\n').find((l) => l.startsWith(`${name}:`));
  if (!line) throw new Error(`no group ${name}: scripts/provision-test.sh makes it`);
  return Number(line.split(':')[2]);
}
