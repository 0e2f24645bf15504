import { spawnSync } from 'node:child_process';
import { chmodSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { askSaslauthd } from '../../src/cli/testsaslauthd.js';
import { BIN, run, type RunningDaemon } from './daemon.js';
import { EtcTree, tempDir } from './fixtures.js';
import { SocketmapClient } from './socketmap-client.js';

/** A world-traversable directory (Postfix's smtpd runs as postfix) with a shadow user carol. */
export function makeSite() {
  const dir = tempDir('authmux-relay-');
  chmodSync(dir, 0o755);
  const etc = new EtcTree(join(dir, 'root'));
  etc.addUser({ name: 'carol', uid: 4242, home: '/tmp' });
  etc.chpasswd('SHA512', [['carol', 'carol-pw']]);
  return { dir, etc, base: ['mech: shadow', `passwd_file: ${etc.passwd}`, `shadow_file: ${etc.shadow}`] };
}

export function login(d: RunningDaemon, service: string, clientAddr: string): Promise<string> {
  return askSaslauthd(d.socket, ['carol', 'carol-pw', service, '', clientAddr]);
}

export function relayCli(config: string, ...args: string[]) {
  return run(BIN, ['relay', '-O', config, ...args]);
}

export function postmapQuery(key: string, map: string): { code: number | null; out: string } {
  const r = spawnSync('postmap', ['-q', key, map], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout.trim() };
}

export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** The addresses holding RELAYCLIENT rules in a cdb, read back through tcprulescheck's view of the records. */
export function relayGrantsIn(path: string): string[] {
  const db = readFileSync(path);
  const out: string[] = [];
  let p = 2048;
  const end = db.readUInt32LE(0);
  while (p < end) {
    const kl = db.readUInt32LE(p);
    const dl = db.readUInt32LE(p + 4);
    const data = db.subarray(p + 8 + kl, p + 8 + kl + dl).toString('latin1');
    if (data === '+RELAYCLIENT=\0+RBLSMTPD=\0') out.push(db.subarray(p + 8, p + 8 + kl).toString('latin1'));
    p += 8 + kl + dl;
  }
  return out;
}

/** Waits until the socketmap answers `OK OK` for `ip`: a grant just made is in the store. */
export async function untilSocketmapGrants(socketmap: string, ip: string): Promise<void> {
  const c = await SocketmapClient.open(socketmap);
  try {
    await until(`a socketmap grant for ${ip}`, async () => (await c.lookup(ip)) === 'OK OK');
  } finally {
    c.close();
  }
}
