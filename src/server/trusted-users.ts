import { readFileSync } from 'node:fs';
import { parsePasswd } from '../backends/unix-files.js';

export const SYSTEM_PASSWD = '/etc/passwd';

export interface TrustedUsers {
  /** Always holds 0: root is trusted whatever the list says. */
  readonly uids: ReadonlySet<number>;
  /** Names for display, `name(uid)`. */
  readonly described: readonly string[];
  /** Listed names this system has no account for. */
  readonly absent: readonly string[];
}

/**
 * trusted_users names (or numeric uids) as uids, from the system's passwd
 * file: peers are identified by the uid the kernel reports, so names are
 * looked up once, at start. A default list naming every usual MTA and IMAP
 * account is expected to miss some on any one system, so absent names are
 * only reported back.
 */
export function resolveTrustedUsers(names: readonly string[], passwd: Buffer = readFileSync(SYSTEM_PASSWD)): TrustedUsers {
  const byName = parsePasswd(passwd);
  const uids = new Set<number>([0]);
  const described = new Set<string>(['root(0)']);
  const absent: string[] = [];
  for (const name of names) {
    const uid = /^\d+$/.test(name) ? Number(name) : byName.get(name)?.uid;
    if (uid === undefined) {
      absent.push(name);
      continue;
    }
    uids.add(uid);
    described.add(/^\d+$/.test(name) ? `uid ${uid}` : `${name}(${uid})`);
  }
  return { uids, described: [...described], absent };
}
