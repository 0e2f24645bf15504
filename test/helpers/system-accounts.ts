import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Runs a shadow-suite tool, retrying while another one holds /etc/passwd's lock. */
async function shadowTool(cmd: string, args: readonly string[], input?: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      execFileSync(cmd, args, { input, stdio: ['pipe', 'ignore', 'pipe'] });
      return;
    } catch (err) {
      if (attempt >= 20) throw err;
      await sleep(100);
    }
  }
}

/**
 * Real accounts in the machine's /etc/passwd and /etc/shadow, made by
 * useradd and chpasswd as an admin makes them, under names of the test's
 * own (a random prefix) and removed by remove(). PAM's pam_unix reads only
 * the real files, so the tests that drive it need these.
 */
export class SystemAccounts {
  readonly prefix = `amx${randomBytes(3).toString('hex')}`;
  private readonly names: string[] = [];

  name(short: string): string {
    return `${this.prefix}${short}`;
  }

  /** Adds `prefix+short` with this password, hashed by chpasswd -c METHOD (YESCRYPT, SHA512...). */
  async add(short: string, password: string, method = 'YESCRYPT', home = '/nonexistent'): Promise<string> {
    const name = this.name(short);
    await shadowTool('useradd', ['-M', '-d', home, '-s', '/usr/sbin/nologin', name]);
    this.names.push(name);
    await this.setPassword(short, password, method);
    return name;
  }

  async setPassword(short: string, password: string, method = 'YESCRYPT'): Promise<void> {
    await shadowTool('chpasswd', ['-c', method], `${this.name(short)}:${password}\n`);
  }

  /** The account expired yesterday (chage -E). */
  async expire(short: string): Promise<void> {
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    await shadowTool('chage', ['-E', yesterday, this.name(short)]);
  }

  /** usermod -L: a "!" before the hash. */
  async lock(short: string): Promise<void> {
    await shadowTool('usermod', ['-L', this.name(short)]);
  }

  async remove(): Promise<void> {
    for (const n of this.names.splice(0)) await shadowTool('userdel', [n]).catch(() => undefined);
  }
}

/**
 * PAM service files of the test's own under /etc/pam.d (never the
 * machine's login stack): service(name, text) writes
 * /etc/pam.d/<prefix>-<name> and returns the service name a client sends.
 */
export class PamServices {
  readonly prefix = `authmux-test-${randomBytes(3).toString('hex')}`;
  private readonly files: string[] = [];

  service(name: string, stack: string): string {
    const service = `${this.prefix}-${name}`;
    const file = join('/etc/pam.d', service);
    writeFileSync(file, stack);
    this.files.push(file);
    return service;
  }

  remove(): void {
    for (const f of this.files.splice(0)) rmSync(f, { force: true });
  }
}
