import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, tempDir } from './fixtures.js';

/** A certificate authority of the test's own, made by the real openssl. */
export class TestCa {
  readonly cert: string;
  private readonly key: string;
  private serial = 1;

  constructor(readonly dir: string, name: string) {
    this.cert = join(dir, `${name}.pem`);
    this.key = join(dir, `${name}.key`);
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', this.key, '-out', this.cert, '-days', '2', '-subj', `/CN=${name}`], { stdio: 'ignore' });
  }

  /** A server certificate for these subjectAltNames (`DNS:localhost`, `IP:127.0.0.1`). */
  issue(name: string, altNames: readonly string[]): { cert: string; key: string } {
    const key = join(this.dir, `${name}.key`);
    const csr = join(this.dir, `${name}.csr`);
    const cert = join(this.dir, `${name}.pem`);
    const ext = join(this.dir, `${name}.ext`);
    writeFileSync(ext, `subjectAltName=${altNames.join(',')}\n`);
    execFileSync('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${name}`], { stdio: 'ignore' });
    execFileSync('openssl', ['x509', '-req', '-in', csr, '-CA', this.cert, '-CAkey', this.key, '-set_serial', String(this.serial++), '-out', cert, '-days', '2', '-extfile', ext], { stdio: 'ignore' });
    return { cert, key };
  }
}


/**
 * Dovecot's real IMAP server (Debian's dovecot-imapd), private: its own
 * base and state directories, log and ports, on 127.0.0.1 and 127.0.0.2.
 * Users live in a passwd-file with SHA256 hashes, so any bytes can be a
 * password. STARTTLS on the plain port, IMAPS on the other, with the
 * certificate given. Dovecot counts a connection as secure when it comes
 * from its own address: on 127.0.0.1 LOGIN works in the clear; on 127.0.0.2
 * (reached from 127.0.0.1) it announces LOGINDISABLED, as towards any other host.
 */
export class PrivateDovecotImap {
  readonly dir = tempDir('authmux-imap-');
  readonly conf = join(this.dir, 'dovecot.conf');
  readonly logFile = join(this.dir, 'dovecot.log');
  private readonly usersFile = join(this.dir, 'users');
  private running = false;
  private mtime = 0;
  private users: ReadonlyArray<readonly [string, string | Buffer]> = [];

  private constructor(readonly plainPort: number, readonly imapsPort: number, private readonly tls: { cert: string; key: string }) {}

  static async create(tls: { cert: string; key: string }, users: ReadonlyArray<readonly [string, string | Buffer]>): Promise<PrivateDovecotImap> {
    const d = new PrivateDovecotImap(await freePort(), await freePort(), tls);
    // The post-login imap process runs as nobody and must reach its (lazily made) mail directory.
    chmodSync(d.dir, 0o755);
    mkdirSync(join(d.dir, 'mail'));
    chownSync(join(d.dir, 'mail'), Number(execFileSync('id', ['-u', 'nobody']).toString()), Number(execFileSync('id', ['-g', 'nobody']).toString()));
    d.writeUsers(users);
    return d;
  }

  /**
   * Rewrites the passwd-file, and returns once Dovecot will have seen it:
   * it looks at the file at most once a second, and reads it again only
   * when its size or mtime (in whole seconds) changed. The hashes are all
   * one length, so each rewrite gets an mtime a second past the last.
   */
  async setUsers(users: ReadonlyArray<readonly [string, string | Buffer]>): Promise<void> {
    this.writeUsers(users);
    await sleep(1100);
  }

  /** Makes the passwd-file unreadable to Dovecot's auth process (its user database is "down"). */
  async breakUsers(): Promise<void> {
    this.writeUsers(this.users);
    chmodSync(this.usersFile, 0);
    await sleep(1100);
  }

  private writeUsers(users: ReadonlyArray<readonly [string, string | Buffer]>): void {
    this.users = users;
    // Dovecot looks a login up with its " and \ escaped (str_escape), so they are written so.
    const escaped = (user: string) => user.replace(/["\\]/g, (c) => `\\${c}`);
    const line = ([user, pw]: readonly [string, string | Buffer]) => `${escaped(user)}:{SHA256.HEX}${createHash('sha256').update(pw).digest('hex')}::::::\n`;
    writeFileSync(this.usersFile, users.map(line).join(''));
    this.mtime = Math.max(Math.floor(Date.now() / 1000), this.mtime + 1);
    chmodSync(this.usersFile, 0o644);
    utimesSync(this.usersFile, this.mtime, this.mtime);
  }

  async start(): Promise<void> {
    for (const sub of ['run', 'state']) mkdirSync(join(this.dir, sub), { recursive: true });
    writeFileSync(this.conf, [
      `base_dir = ${this.dir}/run`,
      `state_dir = ${this.dir}/state`,
      `log_path = ${this.logFile}`,
      'protocols = imap',
      'listen = 127.0.0.1, 127.0.0.2',
      'ssl = yes',
      `ssl_cert = <${this.tls.cert}`,
      `ssl_key = <${this.tls.key}`,
      'disable_plaintext_auth = yes',
      'auth_mechanisms = plain login',
      'auth_verbose = yes',
      // Logins with quotes, backslashes and 8-bit bytes reach the passdb as sent.
      'auth_username_chars =',
      'auth_failure_delay = 0',
      `mail_location = maildir:${this.dir}/mail/%u`,
      `passdb {\n  driver = passwd-file\n  args = ${this.usersFile}\n}`,
      `userdb {\n  driver = static\n  args = uid=nobody gid=nogroup home=${this.dir}/mail/%u\n}`,
      `service imap-login {\n  inet_listener imap {\n    port = ${this.plainPort}\n  }\n  inet_listener imaps {\n    port = ${this.imapsPort}\n    ssl = yes\n  }\n}`,
      // No growing delay for an address with failed logins: every test login comes from 127.0.0.1.
      'service anvil {\n  unix_listener anvil-auth-penalty {\n    mode = 0\n  }\n}',
    ].join('\n') + '\n');
    const r = spawn('dovecot', ['-c', this.conf], { stdio: 'inherit', env: { PATH: process.env['PATH'] } });
    const code = await new Promise((res) => r.on('close', res));
    if (code !== 0) throw new Error(`dovecot exited ${String(code)}: ${this.log()}`);
    this.running = true;
    for (let i = 0; i < 100; i++) {
      if (await this.answers()) return;
      await sleep(50);
    }
    throw new Error(`the private Dovecot does not answer on ${this.plainPort}: ${this.log()}`);
  }

  private answers(): Promise<boolean> {
    return new Promise((resolve) => {
      const s = connect({ host: '127.0.0.1', port: this.plainPort });
      s.once('data', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    await new Promise((res) => spawn('doveadm', ['-c', this.conf, 'stop'], { stdio: 'ignore' }).on('close', res));
    // doveadm stop returns before the listeners are gone.
    for (let i = 0; i < 100 && (await this.answers()); i++) await sleep(50);
  }

  log(): string {
    try {
      return readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }
}
