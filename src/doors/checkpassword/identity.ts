import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isSafePathComponent } from '../../os/safe-files.js';
import type { Config } from '../../config/config.js';
import { parsePasswd } from '../../backends/unix-files.js';
import type { DoorAccount } from '../../protocol/checkpassword-door.js';

/** Who the next program runs as, where, and with which variables besides USER, HOME and SHELL. */
export interface Identity {
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
  readonly user: string;
  readonly shell: string;
  readonly env: Readonly<Record<string, string>>;
}

export class IdentityError extends Error {
  override readonly name: string = 'IdentityError';
}

/** The account's name cannot make a home: a refusal, not a passing trouble. */
export class UnsafeHome extends IdentityError {
  override readonly name = 'UnsafeHome';
}

function virtualAccount(config: Config): { uid: number; gid: number; home: string; shell: string } {
  let users;
  try {
    users = parsePasswd(readFileSync(config.passwdFile));
  } catch (err) {
    throw new IdentityError(`cannot read ${config.passwdFile}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const v = users.get(config.checkpassword.virtualUser);
  if (!v) throw new IdentityError(`virtual_user ${config.checkpassword.virtualUser} is not in ${config.passwdFile}`);
  return v;
}

/**
 * `%u` and `%d` filled in, each checked to be one plain directory name (an
 * empty realm allowed), and the result checked to lie under the template's
 * fixed part: a login such as `../../x` never chooses where the next program runs.
 */
export function homeFromTemplate(template: string, user: string, domain: string): string {
  for (const [what, v] of [['user', user], ['realm', domain]] as const) {
    if (!(isSafePathComponent(v) || (what === 'realm' && v === ''))) {
      throw new UnsafeHome(`${what} ${JSON.stringify(v)} cannot be part of a home directory (virtual_home)`);
    }
  }
  const home = template.replace(/%([ud%])/g, (_, c: string) => (c === 'u' ? user : c === 'd' ? domain : '%'));
  const fixed = template.slice(0, template.search(/%[ud]/) < 0 ? template.length : template.search(/%[ud]/));
  const base = fixed.endsWith('/') ? resolve(fixed) : dirname(resolve(fixed));
  const resolved = resolve(home);
  if (resolved !== base && !resolved.startsWith(base === '/' ? '/' : `${base}/`)) {
    throw new UnsafeHome(`home ${JSON.stringify(home)} is not under ${base}`);
  }
  return home;
}

/**
 * System accounts run as themselves; virtual ones (sasldb, vpopmail), which
 * have no system account, run as `virtual_user`, in the home their source
 * gives (vpopmail's pw_dir) or else the `virtual_home` template, with the
 * variables their source names (vpopmail's VPOPUSER).
 */
export function identityFor(config: Config, account: DoorAccount): Identity {
  if (account.system) {
    if (account.uid === undefined || account.gid === undefined) throw new IdentityError(`no uid/gid for ${account.user}`);
    return { uid: account.uid, gid: account.gid, home: account.home, user: account.user, shell: account.shell, env: account.env };
  }
  const v = virtualAccount(config);
  const template = config.checkpassword.virtualHome ?? `${v.home}/%d/%u`;
  const home = account.home !== '' ? account.home : homeFromTemplate(template, account.user, account.domain);
  return { uid: v.uid, gid: v.gid, home, user: account.user, shell: account.shell || v.shell, env: account.env };
}
