import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './fixtures.js';

/** The services a minimal Postfix needs; mail it accepts is discarded. */
const MASTER_SERVICES = `pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
`;

/**
 * A private Postfix instance (its own config, queue and data directories)
 * with one smtpd on a loopback high port whose relay decision is
 * `check_client_access <map>, reject_unauth_destination`.
 */
export class PrivatePostfix {
  readonly dir: string;
  readonly conf: string;
  readonly port: number;

  private constructor(relayMap: string, extraMain: readonly string[]) {
    this.dir = tempDir('authmux-postfix-');
    chmodSync(this.dir, 0o755);
    this.conf = join(this.dir, 'conf');
    this.port = 21000 + Math.floor(Math.random() * 20000);
    for (const d of ['conf', 'queue', 'data']) mkdirSync(join(this.dir, d));
    chownSync(join(this.dir, 'data'), Number(execFileSync('id', ['-u', 'postfix']).toString()), 0);
    writeFileSync(join(this.conf, 'main.cf'), [
      'compatibility_level = 3.6',
      `queue_directory = ${this.dir}/queue`,
      `data_directory = ${this.dir}/data`,
      `maillog_file = ${this.dir}/maillog`,
      `maillog_file_prefixes = ${this.dir}`,
      'inet_interfaces = 127.0.0.1',
      'inet_protocols = ipv4',
      'myhostname = mx.authmux.test',
      'mydestination = mx.authmux.test',
      'mynetworks =',
      'relay_domains =',
      `smtpd_relay_restrictions = check_client_access ${relayMap}, reject_unauth_destination`,
      'default_transport = discard',
      'relay_transport = discard',
      ...extraMain,
    ].join('\n') + '\n');
    writeFileSync(join(this.conf, 'master.cf'), `127.0.0.1:${this.port} inet n - n - - smtpd\n${MASTER_SERVICES}`);
  }

  /** `extraMain`: more main.cf lines, after the ones above (a later line wins in Postfix). */
  static start(relayMap: string, extraMain: readonly string[] = []): PrivatePostfix {
    const p = new PrivatePostfix(relayMap, extraMain);
    execFileSync('postfix', ['-c', p.conf, 'start'], { stdio: 'pipe' });
    return p;
  }

  log(): string {
    try {
      return readFileSync(join(this.dir, 'maillog'), 'utf8');
    } catch {
      return '';
    }
  }

  stop(): void {
    try {
      execFileSync('postfix', ['-c', this.conf, 'stop'], { stdio: 'pipe' });
    } catch {
      // Not running.
    }
  }
}

/** swaks from `from` (a loopback address) to a remote recipient through Postfix on `port`; the RCPT reply code. */
export function relayAttempt(port: number, from: string): string {
  const r = spawnSync('swaks', ['--server', `127.0.0.1:${port}`, '--local-interface', from, '--to', 'someone@remote.example', '--from', 'carol@authmux.test', '--quit-after', 'RCPT', '--timeout', '10'], { encoding: 'utf8' });
  const m = /RCPT TO:<someone@remote\.example>\s*\n\s*<[~*-]*\s+(\d{3})/.exec(r.stdout + r.stderr);
  if (!m) throw new Error(`no RCPT reply from swaks:\n${r.stdout}${r.stderr}`);
  return m[1]!;
}
